/**
 * A throwaway PostgreSQL 15 cluster with pg_cron preloaded, for tests, the demo and benchmarks.
 *
 * PostgreSQL refuses to run as root, so when we are root the server runs as the unprivileged
 * `postgres` user that Debian's package creates. The cluster lives in a temporary directory,
 * listens on a free loopback port, and is removed by {@link PostgresCluster.stop}.
 *
 * With `tls`, the server also speaks TLS with a self-signed certificate made by `openssl` at
 * start (as hosted databases are reached, `sslmode=require`: encrypted, not verified); with
 * `tls: "required"` it refuses connections over TCP that are not encrypted, and its URLs carry
 * `sslmode=require`.
 *
 * @module
 */
import postgres from "postgres";
import { freePort } from "./ports.ts";

/** Where Debian's PostgreSQL 15 puts its programs. */
export const PG_BIN = Deno.env.get("SAUVEGARDE_PG_BIN") ?? "/usr/lib/postgresql/15/bin";

const isRoot = Deno.uid?.() === 0;

/** A running throwaway cluster. */
export interface PostgresCluster {
  /** Superuser connection URL to the `postgres` database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Whether the server speaks TLS, and whether it refuses plain TCP connections. */
  readonly tls: false | "accepted" | "required";
  /** Connection URL for another database on the same cluster (same superuser). */
  urlFor(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server at once and deletes its files. */
  stop(): Promise<void>;
}

/** Options for {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Load the Supabase-like baseline (roles, auth, storage, extensions schema). Default true. */
  supabase?: boolean;
  /** Load the test-only pg_net and Vault stand-ins. Default: same as `supabase`. */
  standIns?: boolean;
  /**
   * Serve TLS too (a self-signed certificate): `true` accepts plain and TLS connections,
   * `"required"` only TLS ones over TCP (the cluster's URLs then ask for `sslmode=require`).
   * Default false.
   */
  tls?: boolean | "required";
}

async function run(cmd: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  const asPostgres = isRoot && cmd.startsWith(PG_BIN);
  const command = asPostgres
    ? new Deno.Command("runuser", { args: ["-u", "postgres", "--", cmd, ...args], ...options })
    : new Deno.Command(cmd, { args, ...options });
  const out = await command.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd.split("/").pop()} failed: ${text.trim()}`);
  return text;
}

/** Starts a fresh cluster. Call `stop()` when done (tests: in a `finally`). */
export async function startPostgres(
  options: StartPostgresOptions = {},
): Promise<PostgresCluster> {
  try {
    await Deno.stat(`${PG_BIN}/postgres`);
  } catch {
    throw new Error(
      `PostgreSQL 15 is not installed (no ${PG_BIN}/postgres): run "deno task setup" as root, ` +
        `or install the Debian packages postgresql-15 postgresql-15-cron postgresql-plpython3-15`,
    );
  }
  const root = await Deno.makeTempDir({ prefix: "sauvegarde-pg-" });
  const dataDir = `${root}/data`;
  if (isRoot) await Deno.chmod(root, 0o777);
  await Deno.mkdir(dataDir, { mode: 0o700 });
  if (isRoot) await run("chown", ["postgres:postgres", dataDir]);
  await run(`${PG_BIN}/initdb`, [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "--no-sync",
    "--encoding=UTF8",
    "--locale=C.UTF-8",
  ]);
  if (options.tls) await writeCertificate(dataDir);
  if (options.tls === "required") await requireTls(dataDir);
  const port = await freePort();
  const conf = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${root}'`,
    `shared_preload_libraries = 'pg_cron'`,
    `cron.database_name = 'postgres'`,
    `cron.use_background_workers = on`,
    `max_worker_processes = 32`,
    `fsync = off`,
    `synchronous_commit = off`,
    `full_page_writes = off`,
    `max_connections = 200`,
    `timezone = 'UTC'`,
    ...(options.tls
      ? [`ssl = on`, `ssl_cert_file = 'server.crt'`, `ssl_key_file = 'server.key'`]
      : []),
  ].join("\n");
  await Deno.writeTextFile(`${dataDir}/postgresql.auto.conf`, conf + "\n", { append: true });
  await run(`${PG_BIN}/pg_ctl`, ["-D", dataDir, "-l", `${root}/server.log`, "-w", "start"]);

  const query = options.tls === "required" ? "?sslmode=require" : "";
  const urlFor = (database: string) =>
    `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}${query}`;
  const cluster: PostgresCluster = {
    url: urlFor("postgres"),
    port,
    dataDir,
    tls: options.tls === "required" ? "required" : options.tls ? "accepted" : false,
    urlFor,
    async createDatabase(name: string) {
      const sql = postgres(urlFor("postgres"), { max: 1, onnotice: () => {} });
      try {
        await sql`create database ${sql(name)}`;
      } finally {
        await sql.end();
      }
      return urlFor(name);
    },
    async stop() {
      try {
        await run(`${PG_BIN}/pg_ctl`, ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      } catch {
        // Already stopped (a fault test may have killed it).
      }
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
  try {
    if (options.supabase ?? true) await applySqlFile(cluster.url, "supabase_baseline.sql");
    if (options.standIns ?? options.supabase ?? true) {
      await applySqlFile(cluster.url, "pg_net_standin.sql");
      await applySqlFile(cluster.url, "vault_standin.sql");
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/**
 * A self-signed certificate and its key in the data directory, readable by the server only
 * (PostgreSQL refuses a key others can read).
 */
async function writeCertificate(dataDir: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-pg-tls-" });
  try {
    await run("openssl", [
      "req",
      "-new",
      "-x509",
      "-days",
      "2",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-keyout",
      `${dir}/server.key`,
      "-out",
      `${dir}/server.crt`,
    ]);
    for (const name of ["server.crt", "server.key"]) {
      await Deno.copyFile(`${dir}/${name}`, `${dataDir}/${name}`);
      await Deno.chmod(`${dataDir}/${name}`, 0o600);
      if (isRoot) await run("chown", ["postgres:postgres", `${dataDir}/${name}`]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A pg_hba.conf that lets TCP clients in over TLS only (Unix sockets stay open to tools). */
async function requireTls(dataDir: string): Promise<void> {
  const hba = [
    "local all all trust",
    "hostssl all all 127.0.0.1/32 trust",
    "hostssl all all ::1/128 trust",
    "hostnossl all all 0.0.0.0/0 reject",
    "hostnossl all all ::/0 reject",
  ].join("\n");
  await Deno.writeTextFile(`${dataDir}/pg_hba.conf`, hba + "\n");
}

/** Applies one of the SQL files in `stack/sql/` as a single simple-protocol script. */
export async function applySqlFile(url: string, name: string): Promise<void> {
  const text = await Deno.readTextFile(new URL(`./sql/${name}`, import.meta.url));
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(text);
  } finally {
    await sql.end();
  }
}
