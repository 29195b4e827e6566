/**
 * Which database a CLI command connects to, without the password ever having to go on the
 * command line (argv is world-readable, and task runners echo it).
 *
 * In order, as libpq does it:
 * 1. the connection URL: `--db`, else `SUPABASE_DB_URL`, else one built from libpq's
 *    variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`: at least one must be set);
 * 2. what the URL leaves out comes from those variables, then libpq's defaults: host
 *    `localhost`, port 5432, user the OS user, database the user; `sslmode` from `PGSSLMODE`;
 * 3. a URL without a password takes `PGPASSWORD`, else the first matching line of the password
 *    file (`PGPASSFILE`, else `~/.pgpass`; see `pgpass.ts`), else none.
 *
 * The result is one URL naming every part, so what connects is what this module decided:
 * postgres.js fills parts missing from a URL from some of the same variables itself (`PGHOST`,
 * `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`), but not `PGSSLMODE`, `PGPASSFILE` or the
 * password file, and with nothing missing it takes none of them. Unix-socket hosts are not
 * supported (connections are TCP). Every message here is free of the password.
 *
 * The environment is passed in: the one module reading it is `config.ts`.
 *
 * @module
 */
import { userInfo } from "node:os";
import { PasswordFileError, readPasswordFile } from "./pgpass.ts";

/** The variables a connection may come from. */
export const DATABASE_ENV_NAMES = [
  "SUPABASE_DB_URL",
  "PGHOST",
  "PGPORT",
  "PGUSER",
  "PGPASSWORD",
  "PGDATABASE",
  "PGSSLMODE",
  "PGPASSFILE",
  "HOME",
] as const;

/** Their values (unset or empty: absent). */
export type DatabaseEnvironment = Partial<Record<typeof DATABASE_ENV_NAMES[number], string>>;

/** Where the URL, and its password, came from. */
export interface ResolvedDatabase {
  /** The full connection URL, password included: pass it on, never print it. */
  url: string;
  /** Where it points, without credentials: `host:port/database`. */
  label: string;
  source: "--db" | "SUPABASE_DB_URL" | "PG variables";
  password: "url" | "PGPASSWORD" | "password file" | "none";
}

/** No database is named, or what names it is not usable; the message says what to set. */
export class DatabaseSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseSettingsError";
  }
}

/** The variables that name a database (a password alone names none). */
const PG_NAMING = ["PGHOST", "PGPORT", "PGUSER", "PGDATABASE"] as const;

const SSL_MODES = new Set(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]);

/**
 * Resolves the database a command connects to from `--db` (`flag`) and the environment.
 *
 * @throws {DatabaseSettingsError} when nothing names a database, a value is malformed, or the
 * password file has loose permissions
 */
export async function resolveDatabase(
  flag: string | undefined,
  env: DatabaseEnvironment,
): Promise<ResolvedDatabase> {
  const value = (name: keyof DatabaseEnvironment) => env[name] || undefined;
  const source: ResolvedDatabase["source"] = flag
    ? "--db"
    : value("SUPABASE_DB_URL")
    ? "SUPABASE_DB_URL"
    : "PG variables";
  if (source === "PG variables" && !PG_NAMING.some((name) => value(name))) {
    throw new DatabaseSettingsError(
      "Missing --db <postgres-url>: or set SUPABASE_DB_URL, or PGHOST, PGPORT, PGUSER and " +
        "PGDATABASE (the password from PGPASSWORD or ~/.pgpass)",
    );
  }
  const url = parseDatabaseUrl(
    source === "--db" ? flag! : source === "SUPABASE_DB_URL" ? env.SUPABASE_DB_URL! : "postgres://",
    source,
  );

  if (url.hostname === "") url.hostname = checkHost(value("PGHOST") ?? "localhost");
  if (url.port === "" && value("PGPORT")) url.port = checkPort(value("PGPORT")!);
  if (url.username === "") url.username = encodeURIComponent(value("PGUSER") ?? osUser());
  const user = decode(url.username, "user name");
  if (url.pathname === "" || url.pathname === "/") {
    url.pathname = `/${encodeURIComponent(value("PGDATABASE") ?? user)}`;
  }
  const sslmode = value("PGSSLMODE");
  if (sslmode && !url.searchParams.has("sslmode") && !url.searchParams.has("ssl")) {
    if (!SSL_MODES.has(sslmode)) {
      throw new DatabaseSettingsError(
        `PGSSLMODE must be one of ${[...SSL_MODES].join(", ")}, got "${sslmode}"`,
      );
    }
    url.searchParams.set("sslmode", sslmode);
  }

  let password: ResolvedDatabase["password"] = url.password ? "url" : "none";
  if (password === "none") {
    const fromEnv = value("PGPASSWORD");
    const fromFile = fromEnv === undefined
      ? await passwordFromFile(env, {
        host: url.hostname,
        port: url.port || "5432",
        database: decode(url.pathname.slice(1), "database name"),
        user,
      })
      : undefined;
    const found = fromEnv ?? fromFile;
    if (found !== undefined && found !== "") {
      url.password = encodeURIComponent(found);
      password = fromEnv !== undefined ? "PGPASSWORD" : "password file";
    }
  }
  return {
    url: url.href,
    label: `${url.hostname}:${url.port || "5432"}${url.pathname}`,
    source,
    password,
  };
}

function parseDatabaseUrl(text: string, source: ResolvedDatabase["source"]): URL {
  const what = source === "--db" ? "--db" : source;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Never quote the URL: it may hold the password.
    throw new DatabaseSettingsError(
      `${what} is not a valid URL: expected postgres://host:5432/database, with the user and ` +
        `password before the host`,
    );
  }
  if (!/^postgres(ql)?:$/.test(url.protocol)) {
    throw new DatabaseSettingsError(`${what} must start with postgres:// or postgresql://`);
  }
  return url;
}

function checkHost(host: string): string {
  if (host.startsWith("/") || host.startsWith("@")) {
    throw new DatabaseSettingsError(
      `PGHOST "${host}" is a Unix socket directory: Sauvegarde connects over TCP, so set PGHOST ` +
        `to a host name or address`,
    );
  }
  if (host.includes(",")) {
    throw new DatabaseSettingsError(`PGHOST must name one host, got "${host}"`);
  }
  return host;
}

function checkPort(port: string): string {
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535) {
    throw new DatabaseSettingsError(`PGPORT must be a port number, got "${port}"`);
  }
  return port;
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new DatabaseSettingsError(`The database URL's ${what} has a malformed %-encoding`);
  }
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "postgres";
  }
}

async function passwordFromFile(
  env: DatabaseEnvironment,
  key: { host: string; port: string; database: string; user: string },
): Promise<string | undefined> {
  const home = env.HOME || undefined;
  const path = env.PGPASSFILE || (home ? `${home.replace(/\/$/, "")}/.pgpass` : undefined);
  if (!path) return undefined;
  try {
    return await readPasswordFile(path, key);
  } catch (error) {
    if (error instanceof PasswordFileError) throw new DatabaseSettingsError(error.message);
    throw new DatabaseSettingsError(
      `The password file ${path} could not be read: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
}
