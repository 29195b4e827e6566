/**
 * Makes sure the machine has what the local stack needs: PostgreSQL 15 with pg_cron, PostGIS,
 * pgTAP, PgBouncer and
 * PL/Python (Debian packages), and the npm packages in node_modules. Installs the Debian
 * packages with apt-get when running as root; otherwise says exactly what to install.
 * `--with-chromium` adds Debian's Chromium, which the dashboard's browser tests drive
 * (the test task asks for it); `--with-rclone` adds rclone for the benchmarks.
 *
 * @module
 */
import { PG_BIN } from "./postgres.ts";

const PACKAGES = [
  "postgresql-15",
  "postgresql-15-cron",
  "postgresql-plpython3-15",
  "postgresql-15-postgis-3",
  "postgresql-15-pgtap",
  "pgbouncer",
  "zstd",
];
const PG_LIB = PG_BIN.replace(/\/bin$/, "/lib");
const PG_SHARE = PG_BIN.replace(/\/lib\/postgresql\/(\d+)\/bin$/, "/share/postgresql/$1");

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function missingPackages(): Promise<string[]> {
  const checks: Array<[string, string]> = [
    [`${PG_BIN}/postgres`, "postgresql-15"],
    [`${PG_LIB}/pg_cron.so`, "postgresql-15-cron"],
    [`${PG_LIB}/plpython3.so`, "postgresql-plpython3-15"],
    [`${PG_LIB}/postgis-3.so`, "postgresql-15-postgis-3"],
    [`${PG_SHARE}/extension/pgtap.control`, "postgresql-15-pgtap"],
    ["/usr/sbin/pgbouncer", "pgbouncer"],
    ["/usr/bin/zstd", "zstd"],
  ];
  const missing: string[] = [];
  for (const [path, pkg] of checks) if (!(await exists(path))) missing.push(pkg);
  return missing;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const status = await new Deno.Command(cmd, {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
}

/** Installs what is missing, or explains how; returns false when the machine is not ready. */
export async function ensureDependencies(extra: string[] = []): Promise<boolean> {
  const missing = [...await missingPackages(), ...extra.filter((p) => p)];
  if (missing.length === 0) return true;
  if (Deno.uid?.() !== 0) {
    console.error(
      `Missing Debian packages: ${missing.join(" ")}\n` +
        `Install them with: sudo apt-get install -y ${
          [...new Set([...PACKAGES, ...extra])].join(" ")
        }`,
    );
    return false;
  }
  console.error(`Installing ${missing.join(" ")} with apt-get…`);
  await run("apt-get", ["update", "-qq"]);
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing]);
  return (await missingPackages()).length === 0;
}

/** Optional packages: the flag that asks for each, and the file it installs. */
const OPTIONAL: Array<[flag: string, path: string, pkg: string]> = [
  ["--with-rclone", "/usr/bin/rclone", "rclone"],
  ["--with-chromium", "/usr/bin/chromium", "chromium"],
];

if (import.meta.main) {
  const extra: string[] = [];
  for (const [flag, path, pkg] of OPTIONAL) {
    if (Deno.args.includes(flag) && !(await exists(path))) extra.push(pkg);
  }
  Deno.exit((await ensureDependencies(extra)) ? 0 : 1);
}
