import assert from "node:assert/strict";
import postgres from "postgres";
import { startPostgres } from "../../../stack/postgres.ts";
import { applyMigrations, readMigrations } from "../../../shared/pg/migrate.ts";

type Sql = ReturnType<typeof postgres>;

async function asRole<T>(
  sql: Sql,
  role: string,
  claims: Record<string, unknown>,
  work: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    await tx.unsafe(`set local role ${role}`);
    return await work(tx);
  }) as T;
}

Deno.test("migrations apply in file-name order once and backup_runs is closed to anon and non-admins", async (t) => {
  const cluster = await startPostgres();
  const sql = postgres(cluster.url, { max: 2, onnotice: () => {} });
  try {
    const applied = await applyMigrations(cluster.url);
    const files = await readMigrations();
    assert.deepEqual(applied, files.map((m) => m.version));
    assert.deepEqual(await applyMigrations(cluster.url), [], "a second push applies nothing");

    await sql`insert into backup_runs (kind, status, trigger) values ('database', 'succeeded', 'cron')`;

    await t.step("anon can neither read nor write runs", async () => {
      await assert.rejects(
        asRole(sql, "anon", { role: "anon" }, (tx) => tx`select * from backup_runs`),
        /permission denied/,
      );
      await assert.rejects(
        asRole(
          sql,
          "anon",
          { role: "anon" },
          (tx) => tx`insert into backup_runs (kind, trigger) values ('database', 'api')`,
        ),
        /permission denied/,
      );
    });

    await t.step("a signed-in user who is not an admin sees no runs and cannot write", async () => {
      const claims = {
        role: "authenticated",
        sub: crypto.randomUUID(),
        app_metadata: {},
        user_metadata: { backup_admin: true },
      };
      const rows = await asRole(
        sql,
        "authenticated",
        claims,
        (tx) => tx`select * from backup_runs`,
      );
      assert.equal(rows.length, 0);
      await assert.rejects(
        asRole(
          sql,
          "authenticated",
          claims,
          (tx) => tx`insert into backup_runs (kind, trigger) values ('database', 'api')`,
        ),
        /permission denied/,
      );
    });

    await t.step("an admin (app_metadata) reads runs but still cannot write them", async () => {
      const claims = {
        role: "authenticated",
        sub: crypto.randomUUID(),
        app_metadata: { backup_admin: true },
      };
      const rows = await asRole(
        sql,
        "authenticated",
        claims,
        (tx) => tx`select * from backup_runs`,
      );
      assert.equal(rows.length, 1);
      await assert.rejects(
        asRole(sql, "authenticated", claims, (tx) => tx`update backup_runs set status = 'failed'`),
        /permission denied/,
      );
    });

    await t.step("the service role writes runs", async () => {
      const rows = await asRole(
        sql,
        "service_role",
        { role: "service_role" },
        (tx) => tx`insert into backup_runs (kind, trigger) values ('verify', 'api') returning id`,
      );
      assert.equal(rows.length, 1);
    });

    await t.step("two live database runs cannot exist at once", async () => {
      await sql`insert into backup_runs (kind, status, trigger) values ('database', 'running', 'cron')`;
      await assert.rejects(
        sql`insert into backup_runs (kind, status, trigger) values ('database', 'queued', 'api')`,
        /backup_runs_one_live_per_kind_idx/,
      );
    });

    await t.step("the latest-run query uses the kind/status index", async () => {
      await sql`insert into backup_runs (kind, status, trigger, created_at)
        select (array['database','storage','verify'])[1 + i % 3], 'failed', 'cron',
               now() - make_interval(secs => i)
        from generate_series(1, 20000) i`;
      await sql`analyze backup_runs`;
      const plan = await sql`explain select * from backup_runs
        where kind = 'verify' and status = 'failed' order by created_at desc limit 1`;
      const text = plan.map((row) => row["QUERY PLAN"]).join("\n");
      assert.match(text, /backup_runs_kind_status_created_idx/);
    });
  } finally {
    await sql.end();
    await cluster.stop();
  }
});
