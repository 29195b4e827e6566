/**
 * How to reach a Storage S3 endpoint, and how to print one: apart from the SDK client
 * (`s3_client.ts`), so that snapshots, which read through `../targets/s3_http.ts`, never load the SDK.
 *
 * @module
 */

/** How to reach a Storage S3 endpoint. */
export interface StorageS3Settings {
  endpoint: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** A printable form of an endpoint: no credentials, no query. */
export function printableEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/$/, "")}`;
  } catch {
    return "(invalid endpoint)";
  }
}
