/**
 * Keeps secrets out of what notifications say and what their failures record.
 *
 * Webhook URLs are secrets (Slack's carries its token in the path), and fetch errors quote
 * the URL they failed on; keys and tokens might slip into an error message from elsewhere.
 *
 * @module
 */
import { redactUrl } from "../config/mod.ts";

const TOKEN_PATTERNS: RegExp[] = [
  /sb_(secret|publishable)_[A-Za-z0-9_-]+/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  /\bxox[a-z]-[A-Za-z0-9-]+/g,
  /(Bearer\s+)\S+/gi,
];

/**
 * The parts of a secret URL (a webhook's) that must never be shown: the URL itself, its path,
 * its query and each token-like path segment or query value, raw and percent-decoded, so an endpoint
 * that echoes any of them back cannot get them into an error or a log. Empty for text that is
 * not a URL.
 */
export function secretUrlParts(url: string | undefined): string[] {
  if (!url || !URL.canParse(url)) return [];
  const parsed = new URL(url);
  const parts = [url, parsed.href, `${parsed.pathname}${parsed.search}`, parsed.search];
  if (parsed.pathname !== "/") parts.push(parsed.pathname);
  parts.push(parsed.search.slice(1));
  // A segment alone only when it looks like a token: "services" or "hooks" are words.
  for (const segment of parsed.pathname.split("/")) {
    if (/\d/.test(segment) || segment.length >= 16) parts.push(segment);
  }
  for (const [name, value] of parsed.searchParams) parts.push(value, `${name}=${value}`);
  const all = parts.flatMap((part) => [part, decoded(part)]);
  // Longest first, so a whole path is replaced before one of its segments.
  return [...new Set(all.filter((part) => part.length >= MIN_SECRET))]
    .sort((a, b) => b.length - a.length);
}

/** Removes a secret URL's path and query (see {@link secretUrlParts}) from text. */
export function scrubUrl(text: string, url: string | undefined): string {
  return scrub(text, secretUrlParts(url));
}

/** Shorter strings are not scrubbed: they would match ordinary words. */
const MIN_SECRET = 8;

function decoded(part: string): string {
  try {
    return decodeURIComponent(part.replaceAll("+", " "));
  } catch {
    return part;
  }
}

/**
 * Removes secrets from text: the given secret strings (each replaced by `[redacted]`), URL
 * paths and queries (only scheme and host remain), credentials in URLs, API keys and JWTs.
 */
export function scrub(text: string, secrets: ReadonlyArray<string | undefined> = []): string {
  let out = text;
  const longestFirst = [...secrets].filter((secret): secret is string =>
    typeof secret === "string" && secret.length >= MIN_SECRET
  ).sort((a, b) => b.length - a.length);
  for (const secret of longestFirst) out = out.split(secret).join("[redacted]");
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
