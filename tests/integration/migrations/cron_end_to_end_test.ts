import assert from "node:assert/strict";
import postgres from "postgres";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { startLocalStack } from "../../../stack/local_stack.ts";
import { seedShop } from "../../../stack/shop_seed.ts";

Deno.test("a real pg_cron job fires through net.http_post and leaves a succeeded backup run", async () => {
  const stack = await startLocalStack();
  const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
  try {
    await seedShop(stack.db.url, { products: 100, customers: 20, orders: 50 });
    // pg_cron's finest schedule here is one minute: the job fires at the next minute boundary.
    await sql`select public.sauvegarde_set_schedule('database-backup', '* * * * *')`;
    const deadline = Date.now() + 120_000;
    let run;
    while (Date.now() < deadline) {
      const [row] = await sql`select id, status from public.backup_runs
                              where kind = 'database' and trigger = 'cron'
                              order by created_at desc limit 1`;
      if (row && ["succeeded", "failed"].includes(row.status)) {
        run = await stack.app.store.get(row.id);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(run, "pg_cron started a database run within two minutes");
    assert.equal(run.status, "succeeded", run.error ?? "");
    assert.equal(run.requestedBy, "pg_cron");
    assert.ok(run.backupId);
    const [details] = await sql`
      select d.status, d.command from cron.job_run_details d
      join cron.job j on j.jobid = d.jobid
      where j.jobname = 'sauvegarde-database-backup' order by d.start_time desc limit 1`;
    assert.equal(details.status, "succeeded");
    const responses = await sql`select status_code from net._http_response
                                where content like ${"%" + run.id + "%"}`;
    assert.deepEqual(
      responses.map((r) => r.status_code),
      [202],
      "the function answered 202 at once",
    );
  } finally {
    await sql.end();
    await settleBackground();
    await stack.stop();
  }
});
