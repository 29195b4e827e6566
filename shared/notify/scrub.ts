/**
 * Keeps secrets out of what notifications say and what their failures record.
 *
 * Webhook URLs are secrets (Slack's carries its token in the path), and fetch errors quote
 * the URL they failed on; keys and tokens might slip into an error message from elsewhere.
 *
 * @module
 */
import { redactUrl } from "../config.ts";

const TOKEN_PATTERNS: RegExp[] = [
  /sb_(secret|publishable)_[A-Za-z0-9_-]+/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  /\bxox[a-z]-[A-Za-z0-9-]+/g,
  /(Bearer\s+)\S+/gi,
];

/**
 * Removes secrets from text: the given secret strings (each replaced by `[redacted]`), URL
 * paths and queries (only scheme and host remain), passwords in URLs, API keys and JWTs.
 */
export function scrub(text: string, secrets: ReadonlyArray<string | undefined> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 8) out = out.split(secret).join("[redacted]");
  }
  out = redactUrl(out);
  out = out.replace(/\b(https?:\/\/[^/\s"'<>)]+)\/[^\s"'<>)]*/g, "$1/…");
  for (const pattern of TOKEN_PATTERNS) {
    out = out.replace(
      pattern,
      (_match, prefix) =>
        typeof prefix === "string" && /^Bearer/i.test(prefix)
          ? `${prefix}[redacted]`
          : "[redacted]",
    );
  }
  return out;
}
