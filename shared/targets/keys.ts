/**
 * Key and prefix rules shared by every storage target, and the names of in-flight temporary files.
 *
 * @module
 */

import { TargetError } from "../util/errors.ts";

const TEMP_NAME = /\.tmp-[0-9a-f]{16}$/;

/**
 * Checks that a key is a relative, slash-separated path with no empty, "." or ".." segment, and
 * that its last segment cannot be mistaken for an in-flight temporary name.
 *
 * @throws {TargetError} when the key is not valid
 */
export function checkKey(key: string): string {
  if (typeof key !== "string" || key.length === 0) {
    throw new TargetError("Object key must be a non-empty string");
  }
  if (new TextEncoder().encode(key).byteLength > 1024) {
    throw new TargetError("Object key must not exceed 1024 bytes");
  }
  checkSegments(key, key.split("/"), "Object key");
  if (isTempName(key)) {
    throw new TargetError(`Object key "${key}" ends like a temporary name`);
  }
  return key;
}

/**
 * Checks a listing prefix: empty, or a relative path that may end with "/" or in the middle of
 * a segment ("blobs/a" matches "blobs/ab/…").
 *
 * @throws {TargetError} when the prefix is not valid
 */
export function checkPrefix(prefix: string): string {
  if (typeof prefix !== "string") throw new TargetError("Listing prefix must be a string");
  if (prefix === "") return prefix;
  const segments = prefix.split("/");
  if (segments.at(-1) === "") segments.pop();
  checkSegments(prefix, segments, "Listing prefix");
  return prefix;
}

function checkSegments(value: string, segments: string[], what: string): void {
  if (value.includes("\0") || value.includes("\\")) {
    throw new TargetError(`${what} "${value}" contains a NUL or backslash character`);
  }
  for (const segment of segments) {
    if (segment === "" || segment === "." || segment === "..") {
      throw new TargetError(
        `${what} "${value}" must be a relative path without empty, "." or ".." segments`,
      );
    }
  }
}

/** Whether a file or object name is an in-flight temporary name (skipped by listings). */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** A fresh temporary-name suffix: ".tmp-" and 16 random hex digits. */
export function tempSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return ".tmp-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Checks a byte range for `load`.
 *
 * @throws {TargetError} when offset or length is not a non-negative safe integer
 */
export function checkRange(offset: number, length: number | undefined): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new TargetError(`Load offset must be a non-negative integer, got ${offset}`);
  }
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
    throw new TargetError(`Load length must be a non-negative integer, got ${length}`);
  }
}
