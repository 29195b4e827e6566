/**
 * Debian's PgBouncer in transaction mode in front of a throwaway cluster (`postgres.ts`), for
 * tests: what Supabase's shared pooler (Supavisor, port 6543) does to a client, here. Each
 * transaction of a client may run on another server connection, session state does not
 * survive a transaction, and PgBouncer 1.18 keeps no prepared statement across them (its
 * `max_prepared_statements` arrived later; the default is left alone).
 *
 * Clients log in with a password (SCRAM, from a user list written here: the cluster's
 * superuser `postgres` and any role given); PgBouncer logs in to the cluster as the same role
 * (the cluster trusts loopback). Every database of the cluster is served, those created later
 * too. The pool is small (`poolSize` server connections per database and role, default 2), so
 * several client connections really share server connections. PgBouncer refuses to run as
 * root: when we are root it runs as the `postgres` user, as the cluster does.
 *
 * @module
 */
import { freePort } from "./ports.ts";
import type { PostgresCluster } from "./postgres.ts";

/** Where Debian's package installs PgBouncer. */
export const PGBOUNCER_BIN = Deno.env.get("SAUVEGARDE_PGBOUNCER_BIN") ?? "/usr/sbin/pgbouncer";

const isRoot = Deno.uid?.() === 0;

/** A running PgBouncer. */
export interface PgBouncer {
  readonly port: number;
  /** Server connections per database and role. */
  readonly poolSize: number;
  /** The superuser's URL to the `postgres` database through the pooler (`pgbouncer=true`). */
  readonly url: string;
  /**
   * The URL of `database` through the pooler, as `user` (default the superuser; a role given
   * in {@link StartPgBouncerOptions.users}), marked `pgbouncer=true`.
   */
  urlFor(database: string, user?: string): string;
  /** The URL of the admin console (`SHOW POOLS`, `SHOW SERVERS`), as the superuser. */
  readonly adminUrl: string;
  /** Stops PgBouncer and deletes its files. */
  stop(): Promise<void>;
}

/** Options for {@link startPgBouncer}. */
export interface StartPgBouncerOptions {
  /** Server connections per database and role (`default_pool_size`, default 2). */
  poolSize?: number;
  /** More roles that may log in, with their passwords (the roles must exist in the cluster). */
  users?: Record<string, string>;
  /** How long a client may wait for a server connection, in seconds (default 60). */
  queryWaitTimeout?: number;
}

/** Starts PgBouncer in front of `cluster`. Call `stop()` when done (tests: in a `finally`). */
export async function startPgBouncer(
  cluster: PostgresCluster,
  options: StartPgBouncerOptions = {},
): Promise<PgBouncer> {
  try {
    await Deno.stat(PGBOUNCER_BIN);
  } catch {
    throw new Error(
      `PgBouncer is not installed (no ${PGBOUNCER_BIN}): run "deno task setup" as root, or ` +
        "install the Debian package pgbouncer",
    );
  }
  const poolSize = options.poolSize ?? 2;
  const passwords: Record<string, string> = {
    postgres: crypto.randomUUID(),
    ...options.users,
  };
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-pgbouncer-" });
  const port = await freePort();
  const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;
  await Deno.writeTextFile(
    `${dir}/userlist.txt`,
    Object.entries(passwords).map(([user, password]) => `${quote(user)} ${quote(password)}\n`)
      .join(""),
  );
  await Deno.writeTextFile(
    `${dir}/pgbouncer.ini`,
    [
      "[databases]",
      `* = host=127.0.0.1 port=${cluster.port}`,
      "",
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = scram-sha-256",
      `auth_file = ${dir}/userlist.txt`,
      "admin_users = postgres",
      "pool_mode = transaction",
      `default_pool_size = ${poolSize}`,
      "min_pool_size = 0",
      "reserve_pool_size = 0",
      "max_client_conn = 500",
      `query_wait_timeout = ${options.queryWaitTimeout ?? 60}`,
      "server_idle_timeout = 600",
      `logfile = ${dir}/pgbouncer.log`,
      `pidfile = ${dir}/pgbouncer.pid`,
      "",
    ].join("\n"),
  );
  if (isRoot) {
    const owned = await new Deno.Command("chown", { args: ["-R", "postgres:postgres", dir] })
      .output();
    if (!owned.success) throw new Error(`Could not hand ${dir} to the postgres user`);
  }
  // In the foreground, logging to its file only.
  const args = ["--quiet", `${dir}/pgbouncer.ini`];
  const io = { stdin: "null", stdout: "null", stderr: "null" } as const;
  const child = (isRoot
    ? new Deno.Command("runuser", {
      args: ["-u", "postgres", "--", PGBOUNCER_BIN, ...args],
      ...io,
    })
    : new Deno.Command(PGBOUNCER_BIN, { args, ...io })).spawn();
  const exited = child.status;
  let stopped = false;

  const log = async () =>
    (await Deno.readTextFile(`${dir}/pgbouncer.log`).catch(() => "")).trim().split("\n")
      .slice(-5).join("\n");
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // PgBouncer's own process (under runuser when root): SIGINT would wait for clients.
    const pid = Number(await Deno.readTextFile(`${dir}/pgbouncer.pid`).catch(() => ""));
    try {
      if (pid > 0) Deno.kill(pid, "SIGTERM");
      else child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((done) => timer = setTimeout(() => done("late"), 5_000));
    if (await Promise.race([exited, late]) === "late") {
      try {
        child.kill("SIGKILL");
        if (pid > 0) Deno.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      await exited;
    }
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };

  try {
    await listening(port, exited, log);
  } catch (error) {
    await stop();
    throw error;
  }
  const urlFor = (database: string, user = "postgres") => {
    const password = passwords[user];
    if (password === undefined) throw new Error(`PgBouncer does not know the role ${user}`);
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}` +
      `@127.0.0.1:${port}/${encodeURIComponent(database)}?pgbouncer=true`;
  };
  return {
    port,
    poolSize,
    url: urlFor("postgres"),
    urlFor,
    adminUrl: `postgres://postgres:${encodeURIComponent(passwords.postgres)}` +
      `@127.0.0.1:${port}/pgbouncer`,
    stop,
  };
}

/** Waits until `port` accepts connections; fails with the log's end when PgBouncer exits. */
async function listening(
  port: number,
  exited: Promise<Deno.CommandStatus>,
  log: () => Promise<string>,
): Promise<void> {
  let gone = false;
  exited.then(() => gone = true);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`PgBouncer exited at start: ${await log()}`);
    try {
      const probe = await Deno.connect({ hostname: "127.0.0.1", port });
      probe.close();
      return;
    } catch {
      await new Promise((done) => setTimeout(done, 50));
    }
  }
  throw new Error(`PgBouncer did not listen on port ${port} within 10 s: ${await log()}`);
}
