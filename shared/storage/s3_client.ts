/**
 * The S3 client used to read and write Supabase Storage through its S3-compatible endpoint.
 *
 * Path-style addressing, keep-alive connections sized for parallel transfers, and the older
 * checksum behaviour (many S3-compatible stores reject the newer default flexible checksums).
 *
 * @module
 */
import { S3Client } from "@aws-sdk/client-s3";
import http from "node:http";
import https from "node:https";
import type { StorageS3Settings } from "./endpoint.ts";

export { printableEndpoint, type StorageS3Settings } from "./endpoint.ts";

/** Options for {@link createStorageClient}. */
export interface StorageClientOptions {
  /** Most connections kept open at once (default 32). */
  maxSockets?: number;
  /** Attempts per request, retries included (default 4). */
  maxAttempts?: number;
}

/** Creates an S3 client for a Storage endpoint; call `destroy()` when done. */
export function createStorageClient(
  settings: StorageS3Settings,
  options: StorageClientOptions = {},
): S3Client {
  const maxSockets = options.maxSockets ?? 32;
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region ?? "us-east-1",
    forcePathStyle: true,
    maxAttempts: options.maxAttempts ?? 4,
    credentials: settings.accessKeyId !== undefined
      ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey ?? "" }
      : undefined,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: {
      httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets }),
      connectionTimeout: 10_000,
      requestTimeout: 120_000,
    },
  });
}
