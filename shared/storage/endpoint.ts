/**
 * How to reach a Storage S3 endpoint (read by `source.ts`, written by `destination.ts`, both
 * through the one S3 client `../targets/s3_http.ts`), and how to print one.
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
