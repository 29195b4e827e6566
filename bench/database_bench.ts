/**
 * Database benchmark: our backup and restore (the CLI, as a subprocess) against pg_dump and
 * pg_restore, on one generated shop database, in one run.
 *
 * The database (products with text, jsonb, arrays and bytea; orders; order_items; primary keys,
 * secondary indexes and foreign keys) is generated server-side with `INSERT … SELECT
 * generate_series`, sized by BENCH_DB_MB (default 1000) megabytes of COPY text, then vacuumed
 * and frozen so no tool pays for hint bits.
 *
 * Backups: ours (file target, zstd) vs `pg_dump -Fc`, `pg_dump -Fc -Z1`, `pg_dump | zstd -1`.
 * Restores: ours (deep verification of every blob first, included) vs `pg_restore -j2` of a
 * `pg_dump -Fd -j2` directory dump, each into a fresh database. Every tool runs under
 * `/usr/bin/time -v`: wall time, peak RSS (largest process) and CPU (user + system, the
 * client side only; the server's COPY work is the same for all).
 *
 * Over TLS too (unless BENCH_TLS=0): the cluster also speaks TLS (a self-signed certificate),
 * and each round backs up and restores through `sslmode=require` URLs, ours and pg_dump's /
 * pg_restore's alike, each ratio also given round by round (same round, same machine state).
 *
 * Usage: `BENCH_DB_MB=1000 deno task bench database [--json] [--write-readme]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { PG_BIN, startPostgres } from "../stack/postgres.ts";
import { cliCommand } from "./cli_command.ts";

const MB = 1_000_000;

interface Measure {
  name: string;
  seconds: number;
  cpuMs: number;
  peakRssMb: number;
  storedBytes?: number;
  stdout: string;
}

async function timed(
  name: string,
  command: string[],
  env: Record<string, string> = {},
): Promise<Measure> {
  const started = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-v", ...command],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  const stderr = new TextDecoder().decode(out.stderr);
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`${name} failed:\n${stderr.slice(-3000)}`);
  const field = (label: string) => {
    const match = new RegExp(`${label}: ([\\d.]+)`).exec(stderr);
    if (!match) throw new Error(`No "${label}" in the output of /usr/bin/time`);
    return Number(match[1]);
  };
  return {
    name,
    seconds,
    cpuMs: Math.round(
      (field("User time \\(seconds\\)") + field("System time \\(seconds\\)")) * 1000,
    ),
    peakRssMb: Math.round(field("Maximum resident set size \\(kbytes\\)") / 1024),
    stdout,
  };
}

async function pathBytes(path: string): Promise<number> {
  const info = await Deno.stat(path);
  if (info.isFile) return info.size;
  let total = 0;
  for await (const entry of Deno.readDir(path)) total += await pathBytes(`${path}/${entry.name}`);
  return total;
}

/** Creates and fills the shop tables so their COPY text is about `megabytes` MB. */
export async function generateShop(sql: postgres.Sql, megabytes: number): Promise<void> {
  // Approximate COPY text bytes per row, measured on this generator.
  const products = Math.max(1000, Math.round((megabytes * MB * 0.35) / 615));
  const items = Math.max(8000, Math.round((megabytes * MB * 0.40) / 23.3));
  const orders = Math.max(Math.ceil(items / 8), Math.round((megabytes * MB * 0.25) / 99.4));
  await sql.unsafe(`
    create table products (
      id bigint primary key, sku text not null, name text not null, description text,
      price numeric(12,2) not null, tags text[] not null, attributes jsonb not null,
      thumbnail bytea, created_at timestamptz not null);
    create table orders (
      id bigint primary key, customer_id bigint not null, status text not null,
      total numeric(12,2) not null, note text, shipping jsonb, created_at timestamptz not null);
    create table order_items (
      order_id bigint not null, line integer not null, product_id bigint not null,
      quantity integer not null, unit_price numeric(12,2) not null,
      primary key (order_id, line));`);
  await sql.unsafe(`
    insert into products
    select i, 'SKU-' || lpad(i::text, 9, '0'), 'Product ' || i || ' ' || substr(md5(i::text), 1, 12),
      repeat(md5(i::text) || ' ' || md5((i * 31)::text) || E'\\n', 4 + i % 3),
      (i % 100000) / 100.0, array['tag' || i % 17, 'tag' || i % 101, 'colour ' || i % 7],
      jsonb_build_object('weight', i % 1000, 'dims', jsonb_build_array(i % 10, i % 20, i % 30),
        'origin', 'country ' || i % 50, 'fragile', i % 2 = 0),
      decode(md5(i::text) || md5((i + 1)::text) || md5((i + 2)::text), 'hex'),
      timestamptz '2020-01-01' + i * interval '7 minutes'
    from generate_series(1, ${products}) i`);
  await sql.unsafe(`
    insert into orders
    select i, 1 + i % 50000, (array['new','paid','shipped','cancelled'])[1 + i % 4],
      (i % 50000) / 10.0, case when i % 5 = 0 then 'Leave at the door ' || md5(i::text) end,
      jsonb_build_object('city', 'City ' || i % 1000, 'zip', lpad((i % 99999)::text, 5, '0')),
      timestamptz '2022-01-01' + i * interval '13 seconds'
    from generate_series(1, ${orders}) i`);
  await sql.unsafe(`
    insert into order_items
    select 1 + (i - 1) / 8, 1 + (i - 1) % 8, 1 + (i::bigint * 7919) % ${products}, 1 + i % 5,
      (i % 20000) / 100.0
    from generate_series(1, ${items}) i
    where 1 + (i - 1) / 8 <= ${orders}`);
  await sql.unsafe(`
    create index order_items_product_idx on order_items (product_id);
    create index orders_customer_idx on orders (customer_id, created_at);
    create index products_tags_idx on products using gin (tags);
    alter table order_items add constraint order_items_order_fk foreign key (order_id) references orders (id);
    alter table order_items add constraint order_items_product_fk foreign key (product_id) references products (id);`);
  await sql.unsafe(`vacuum (freeze, analyze)`);
}

function ratio(a: number, b: number): string {
  return (a / b).toFixed(2);
}

/** `url` asking for TLS as hosted Supabase is reached (encrypted, certificate not checked). */
function overTls(url: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}sslmode=require`;
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: { json: { type: "boolean" }, "write-readme": { type: "boolean" } },
  });
  const megabytes = Number(Deno.env.get("BENCH_DB_MB") ?? "1000");
  const tls = Deno.env.get("BENCH_TLS") !== "0";
  const pg = await startPostgres({ supabase: false, tls });
  const work = await Deno.makeTempDir({ prefix: "sauvegarde-dbbench-" });
  try {
    const source = await pg.createDatabase("shop");
    const sql = postgres(source, { max: 1, onnotice: () => {} });
    const generating = performance.now();
    try {
      await generateShop(sql, megabytes);
    } finally {
      await sql.end();
    }
    console.error(
      `Generated the shop database in ${((performance.now() - generating) / 1000).toFixed(1)} s`,
    );

    const env = { SAUVEGARDE_COMPRESSION: "zstd", NO_COLOR: "1" };
    const deno = await cliCommand();
    const runs = Math.max(1, Number(Deno.env.get("BENCH_RUNS") ?? "3"));
    const best = new Map<string, Measure>();
    const keep = (measure: Measure) => {
      const previous = best.get(measure.name);
      if (!previous || measure.seconds < previous.seconds) best.set(measure.name, measure);
      return measure;
    };
    let summary = { backupId: "", bytes: 0, tables: 0, rows: 0 };
    /** Over TLS, each round: ours / theirs in that round. */
    const tlsRounds: { backup: number; workers: number; restore: number }[] = [];
    const tlsTargets: string[] = [];
    let ourTarget = "";
    let theirTarget = "";
    // Rounds interleave the tools, and each tool's fastest round is kept: the machine may be
    // shared, and the fastest run is the one least disturbed.
    for (let round = 1; round <= runs; round++) {
      const repo = `${work}/repo-${round}`;
      const ours = keep(
        await timed("sauvegarde backup (zstd)", [
          ...deno,
          "backup",
          "--db",
          source,
          "--to",
          `file://${repo}`,
          "--json",
        ], env),
      );
      summary = JSON.parse(ours.stdout.trim().split("\n").at(-1)!);
      ours.storedBytes = await pathBytes(repo);
      const threadRepo = `${work}/repo-thread`;
      keep(
        await timed("sauvegarde backup, one encoder thread", [
          ...deno,
          "backup",
          "--db",
          source,
          "--to",
          `file://${threadRepo}`,
          "--json",
        ], { ...env, SAUVEGARDE_ENCODE_THREADS: "1" }),
      ).storedBytes = await pathBytes(threadRepo);
      await Deno.remove(threadRepo, { recursive: true });
      const workersRepo = `${work}/repo-workers`;
      keep(
        await timed("sauvegarde backup --workers", [
          ...deno,
          "backup",
          "--db",
          source,
          "--to",
          `file://${workersRepo}`,
          "--workers",
          "--json",
        ], env),
      ).storedBytes = await pathBytes(workersRepo);
      await Deno.remove(workersRepo, { recursive: true });
      const fc = keep(
        await timed("pg_dump -Fc", [`${PG_BIN}/pg_dump`, "-Fc", "-f", `${work}/fc.dump`, source]),
      );
      fc.storedBytes = await pathBytes(`${work}/fc.dump`);
      const fc1 = keep(
        await timed("pg_dump -Fc -Z1", [
          `${PG_BIN}/pg_dump`,
          "-Fc",
          "-Z1",
          "-f",
          `${work}/fc1.dump`,
          source,
        ]),
      );
      fc1.storedBytes = await pathBytes(`${work}/fc1.dump`);
      const plainZstd = keep(
        await timed("pg_dump | zstd -1", [
          "bash",
          "-c",
          `set -o pipefail; '${PG_BIN}/pg_dump' '${source}' | zstd -1 -q -f -o '${work}/plain.sql.zst'`,
        ]),
      );
      plainZstd.storedBytes = await pathBytes(`${work}/plain.sql.zst`);
      await Deno.remove(`${work}/fd`, { recursive: true }).catch(() => {});
      const fd = keep(
        await timed("pg_dump -Fd -j2", [
          `${PG_BIN}/pg_dump`,
          "-Fd",
          "-j2",
          "-f",
          `${work}/fd`,
          source,
        ]),
      );
      fd.storedBytes = await pathBytes(`${work}/fd`);

      ourTarget = await pg.createDatabase(`restored_ours_${round}`);
      keep(
        await timed("sauvegarde restore", [
          ...deno,
          "restore",
          "--from",
          `file://${repo}`,
          "--backup",
          summary.backupId,
          "--db",
          ourTarget,
          // The bench's repository has no keys: the bench vouches for what it just wrote.
          "--allow-unauthenticated",
          "--yes",
          "--json",
        ], env),
      );
      theirTarget = await pg.createDatabase(`restored_pg_${round}`);
      keep(
        await timed("pg_restore -j2 (directory)", [
          `${PG_BIN}/pg_restore`,
          "-j2",
          "-d",
          theirTarget,
          `${work}/fd`,
        ]),
      );
      if (tls) {
        const tlsSource = overTls(source);
        const tlsRepo = `${work}/repo-tls-${round}`;
        const oursTls = keep(
          await timed("sauvegarde backup over TLS", [
            ...deno,
            "backup",
            "--db",
            tlsSource,
            "--to",
            `file://${tlsRepo}`,
            "--json",
          ], env),
        );
        const tlsBackupId = JSON.parse(oursTls.stdout.trim().split("\n").at(-1)!).backupId;
        oursTls.storedBytes = await pathBytes(tlsRepo);
        const theirsTls = keep(
          await timed("pg_dump | zstd -1 over TLS", [
            "bash",
            "-c",
            `set -o pipefail; '${PG_BIN}/pg_dump' '${tlsSource}' | zstd -1 -q -f -o '${work}/tls.sql.zst'`,
          ]),
        );
        theirsTls.storedBytes = await pathBytes(`${work}/tls.sql.zst`);
        const tlsWorkersRepo = `${work}/repo-tls-workers`;
        const workersTls = keep(
          await timed("sauvegarde backup --workers over TLS", [
            ...deno,
            "backup",
            "--db",
            tlsSource,
            "--to",
            `file://${tlsWorkersRepo}`,
            "--workers",
            "--json",
          ], env),
        );
        workersTls.storedBytes = await pathBytes(tlsWorkersRepo);
        await Deno.remove(tlsWorkersRepo, { recursive: true });
        const oursTlsTarget = overTls(await pg.createDatabase(`restored_ours_tls_${round}`));
        const restoreTls = keep(
          await timed("sauvegarde restore over TLS", [
            ...deno,
            "restore",
            "--from",
            `file://${tlsRepo}`,
            "--backup",
            tlsBackupId,
            "--db",
            oursTlsTarget,
            "--allow-unauthenticated",
            "--yes",
            "--json",
          ], env),
        );
        const theirTlsTarget = overTls(await pg.createDatabase(`restored_pg_tls_${round}`));
        const pgRestoreTls = keep(
          await timed("pg_restore -j2 (directory) over TLS", [
            `${PG_BIN}/pg_restore`,
            "-j2",
            "-d",
            theirTlsTarget,
            `${work}/fd`,
          ]),
        );
        await Deno.remove(tlsRepo, { recursive: true });
        tlsTargets.splice(0, tlsTargets.length, oursTlsTarget, theirTlsTarget);
        tlsRounds.push({
          backup: oursTls.seconds / theirsTls.seconds,
          workers: workersTls.seconds / theirsTls.seconds,
          restore: restoreTls.seconds / pgRestoreTls.seconds,
        });
      }
      if (round < runs) await Deno.remove(repo, { recursive: true });
      console.error(`Round ${round} of ${runs} done`);
    }
    const rawBytes = summary.bytes;
    const [ours, oursThread, oursWorkers, fc, fc1, plainZstd, fd, ourRestore, pgRestore] = [
      "sauvegarde backup (zstd)",
      "sauvegarde backup, one encoder thread",
      "sauvegarde backup --workers",
      "pg_dump -Fc",
      "pg_dump -Fc -Z1",
      "pg_dump | zstd -1",
      "pg_dump -Fd -j2",
      "sauvegarde restore",
      "pg_restore -j2 (directory)",
    ].map((name) => best.get(name)!);

    // The restored databases hold the same rows.
    const check = async (url: string) => {
      const client = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const [row] = await client`select (select count(*) from products)::int as p,
          (select count(*) from orders)::int as o, (select count(*) from order_items)::int as i,
          (select count(*) from pg_indexes where schemaname = 'public')::int as idx`;
        return JSON.stringify(row);
      } finally {
        await client.end();
      }
    };
    const [a, ...others] = await Promise.all(
      [source, ourTarget, theirTarget, ...tlsTargets].map(check),
    );
    if (others.some((other) => other !== a)) {
      throw new Error(`Restored databases differ: ${[a, ...others].join(" / ")}`);
    }

    const gb = rawBytes / 1e9;
    const tlsNames = [
      "sauvegarde backup over TLS",
      "sauvegarde backup --workers over TLS",
      "pg_dump | zstd -1 over TLS",
      "sauvegarde restore over TLS",
      "pg_restore -j2 (directory) over TLS",
    ];
    const [oursTls, workersTls, theirsTls, restoreTls, pgRestoreTls] = tlsNames.map((name) =>
      best.get(name)
    );
    const rows = [
      ...[ours, oursThread, oursWorkers, fc, fc1, plainZstd, fd, ourRestore, pgRestore],
      ...(tls ? [oursTls!, workersTls!, theirsTls!, restoreTls!, pgRestoreTls!] : []),
    ];
    const perRound = (pick: (r: (typeof tlsRounds)[number]) => number) =>
      tlsRounds.map((r) => pick(r).toFixed(2)).join(", ");
    const tlsRatios = tls
      ? [
        `| backup / pg_dump \\| zstd -1, both over TLS (each round: ${
          perRound((r) => r.backup)
        }) | ${ratio(oursTls!.seconds, theirsTls!.seconds)} | ≤ 1.0 |`,
        `| backup --workers / pg_dump \\| zstd -1, both over TLS (each round: ${
          perRound((r) => r.workers)
        }) | ${ratio(workersTls!.seconds, theirsTls!.seconds)} | |`,
        `| backup over TLS peak RSS | ${oursTls!.peakRssMb} MB | ≤ 150 MB |`,
        `| restore / pg_restore -j2, both over TLS (each round: ${perRound((r) => r.restore)}) | ${
          ratio(restoreTls!.seconds, pgRestoreTls!.seconds)
        } | ≤ 1.0 |`,
        `| restore over TLS peak RSS | ${restoreTls!.peakRssMb} MB | |`,
      ]
      : [];
    const table = [
      `Shop database: ${summary.tables} tables, ${summary.rows.toLocaleString("en")} rows, ` +
      `${(rawBytes / MB).toFixed(0)} MB of COPY text (BENCH_DB_MB=${megabytes}); ` +
      `${navigator.hardwareConcurrency} CPUs, PostgreSQL 15 on the same machine; best of ${runs} ` +
      "interleaved rounds.",
      "",
      "| tool | wall s | CPU ms per GB | peak RSS MB | stored MB |",
      "| --- | ---: | ---: | ---: | ---: |",
      ...rows.map((m) =>
        `| ${m.name.replaceAll("|", "\\|")} | ${m.seconds.toFixed(2)} | ${
          Math.round(m.cpuMs / gb)
        } | ${m.peakRssMb} | ` +
        `${m.storedBytes === undefined ? "" : (m.storedBytes / MB).toFixed(1)} |`
      ),
      "",
      "| ratio | value | target |",
      "| --- | ---: | ---: |",
      `| backup / pg_dump -Fc | ${ratio(ours.seconds, fc.seconds)} | ≤ 0.5 |`,
      `| backup / pg_dump -Fc -Z1 | ${ratio(ours.seconds, fc1.seconds)} | |`,
      `| backup / pg_dump \\| zstd -1 | ${ratio(ours.seconds, plainZstd.seconds)} | ≤ 1.2 |`,
      `| backup, one encoder thread / pg_dump \\| zstd -1 | ${
        ratio(oursThread.seconds, plainZstd.seconds)
      } | |`,
      `| backup --workers / pg_dump \\| zstd -1 | ${
        ratio(oursWorkers.seconds, plainZstd.seconds)
      } | |`,
      `| backup peak RSS | ${ours.peakRssMb} MB | ≤ 150 MB |`,
      `| restore / pg_restore -j2 | ${ratio(ourRestore.seconds, pgRestore.seconds)} | ≤ 1.0 |`,
      `| restore peak RSS | ${ourRestore.peakRssMb} MB | |`,
      ...tlsRatios,
    ].join("\n");
    if (values.json) {
      console.log(
        JSON.stringify({ megabytes, rawBytes, measures: rows.map(({ stdout: _, ...m }) => m) }),
      );
    } else {
      console.log(table);
    }
    if (values["write-readme"]) await writeReadme(table);
  } finally {
    await pg.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

const START = "<!-- database-bench:start -->";
const END = "<!-- database-bench:end -->";

/** Replaces the database section of bench/README.md (between its markers) with `table`. */
async function writeReadme(table: string): Promise<void> {
  const path = new URL("./README.md", import.meta.url);
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch {
    text = "# Benchmarks\n";
  }
  const section = `${START}\n${table}\n${END}`;
  const at = text.indexOf(START);
  const end = text.indexOf(END);
  text = at >= 0 && end > at
    ? text.slice(0, at) + section + text.slice(end + END.length)
    : `${text.trimEnd()}\n\n## Database backup and restore\n\n${section}\n`;
  await Deno.writeTextFile(path, text);
  // Keep the file as `deno fmt` wants it (tables aligned, lines wrapped).
  await new Deno.Command(Deno.execPath(), { args: ["fmt", path.pathname] }).output();
}

if (import.meta.main) await main();
