/**
 * The signed-`fetch` S3 client, shared with the S3 storage target: see
 * `../targets/s3_http.ts`. Re-exported here for the Storage engine's reader.
 *
 * @module
 */
export * from "../targets/s3_http.ts";
