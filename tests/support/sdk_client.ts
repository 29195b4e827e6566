/**
 * An AWS SDK client on a local S3 server: the tests' second, independent S3 implementation,
 * to fill buckets and to read back what the engine's own client (`shared/targets/s3_http.ts`)
 * wrote. Path-style, keep-alive, and the older checksum behaviour (s3rver rejects the SDK's
 * newer default flexible checksums).
 *
 * @module
 */
import { S3Client } from "@aws-sdk/client-s3";

/** Where a server is and how to sign for it. */
export interface SdkEndpoint {
  endpoint: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** An SDK client on `server`; call `destroy()` when done. */
export function sdkClient(server: SdkEndpoint): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region ?? "us-east-1",
    forcePathStyle: true,
    credentials: {
      accessKeyId: server.accessKeyId ?? "",
      secretAccessKey: server.secretAccessKey ?? "",
    },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}
