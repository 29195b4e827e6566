/**
 * Storage targets: the interface, the filesystem and S3 implementations, and opening one from
 * a URL (the one place targets are built; see `open_target.ts`).
 *
 * @example
 * ```ts
 * const target = openTarget(url, { s3: credentials });
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
export { checkKey, checkPrefix } from "./keys.ts";
