/**
 * libpq's password file (`.pgpass`), read the way libpq reads it, so an operator's existing
 * file works unchanged and no password has to go on a command line.
 *
 * Format: one `hostname:port:database:username:password` a line; `#` starts a comment line;
 * any of the first four fields may be `*` (the whole field) to match anything; `\` escapes
 * `:` and `\` in every field. The first line whose four fields match wins. The file is only
 * read when no one but its owner can read or write it (mode 0600 or less), as libpq requires;
 * unlike libpq, which then ignores the file with a warning, {@link readPasswordFile} refuses
 * with an error saying what to do, so a connection does not fail later for a reason no one sees.
 *
 * @module
 */

/** What a password-file line is matched against. */
export interface PasswordFileKey {
  host: string;
  /** As a string, as libpq compares it (`"5432"`). */
  port: string;
  database: string;
  user: string;
}

/** The password file cannot be used as it is (its permissions); the message says what to do. */
export class PasswordFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PasswordFileError";
  }
}

/**
 * The password of the first line of a password file's text that matches `key`, or undefined.
 * Hosts are compared as given: `localhost` matches `localhost`, not `127.0.0.1` (libpq's rule).
 */
export function matchPasswordFile(text: string, key: PasswordFileKey): string | undefined {
  const wanted = [key.host, key.port, key.database, key.user];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line === "" || line.startsWith("#")) continue;
    const fields = splitFields(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i].wildcard || fields[i].text === value)) {
      return fields[4].text;
    }
  }
  return undefined;
}

interface Field {
  text: string;
  /** The field was exactly `*` (an escaped `\*` is a literal star). */
  wildcard: boolean;
}

/** Splits a line at unescaped colons, undoing `\` escapes; the fifth field ends the line. */
function splitFields(line: string): Field[] {
  const fields: Field[] = [];
  let text = "";
  let raw = "";
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === "\\" && i + 1 < line.length) {
      text += line[++i];
      raw += `\\${line[i]}`;
      continue;
    }
    if (char === ":" && fields.length < 4) {
      fields.push({ text, wildcard: raw === "*" });
      text = "";
      raw = "";
      continue;
    }
    // libpq's password ends at its first unescaped colon: anything after is ignored.
    if (char === ":") break;
    text += char;
    raw += char;
  }
  fields.push({ text, wildcard: raw === "*" });
  return fields;
}

/**
 * The password for `key` from the password file at `path`; undefined when the file does not
 * exist, is not a plain file, or has no matching line.
 *
 * @throws {PasswordFileError} when group or others may read or write the file
 */
export async function readPasswordFile(
  path: string,
  key: PasswordFileKey,
): Promise<string | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
  if (!info.isFile) return undefined;
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    throw new PasswordFileError(
      `The password file ${path} has group or world access (mode ${
        (info.mode & 0o777).toString(8).padStart(4, "0")
      }): libpq and Sauvegarde only read it at mode 0600 or less; run chmod 0600 ${path}`,
    );
  }
  return matchPasswordFile(await Deno.readTextFile(path), key);
}
