/**
 * Storage targets: the interface, the filesystem and S3 implementations, opening one from a
 * URL, and the retrying and concurrency-limiting wrappers.
 *
 * @example
 * ```ts
 * const target = new RetryingTarget(
 *   new LimitedTarget(openTarget(url, { s3: credentials }), { limit: 8 }),
 * );
 * ```
 *
 * @module
 */

export * from "./target.ts";
export { FileTarget } from "./file_target.ts";
export { S3Target, type S3TargetOptions } from "./s3_target.ts";
export {
  openTarget,
  type OpenTargetOptions,
  parseTargetUrl,
  type S3ConnectionOptions,
  type TargetSpec,
} from "./open_target.ts";
export { isTransientError, RetryingTarget, type RetryOptions } from "./retrying_target.ts";
export { LimitedTarget, type LimitOptions } from "./limited_target.ts";
export { checkKey, checkPrefix } from "./keys.ts";
