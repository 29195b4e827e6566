/**
 * The one helper that keeps credentials in URLs out of what is printed: every error message,
 * log line and response that may quote a URL goes through {@link redactUrl}.
 *
 * @module
 */

/**
 * `scheme://` then user info up to an `@`: a user (no `:`, `/`, `?`, `#`), then optionally `:`
 * and a password, which may hold `/`, `:` or even an `@` followed by a later one (as an
 * unencoded password would); the last `@` before a space ends it. A URL with an `@` in its
 * query may so lose more than its password: masking too much is the safe side.
 */
const USER_INFO =
  /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/?#@"'<>`]*)(?::((?:[^\s@"'<>`]|@(?=[^\s@"'<>`]*@))*))?@/gi;

/**
 * Removes credentials from every URL in `text`: a password becomes `***` (the user stays, so
 * `postgres://app:***@host/db` still says who connects), a user alone (which may be a token,
 * as in `https://token@host`) becomes `***`. Anything else is left as is.
 */
export function redactUrl(text: string): string {
  return text.replace(
    USER_INFO,
    (_match, scheme: string, user: string, password: string | undefined) =>
      password === undefined ? `${scheme}***@` : `${scheme}${user}:***@`,
  );
}
