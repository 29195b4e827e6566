import assert from "node:assert/strict";
import postgres from "postgres";
import { startLocalStack } from "../../../stack/local_stack.ts";

Deno.test("the schedule migration installs the suite and one SQL call changes a schedule", async (t) => {
  const stack = await startLocalStack();
  const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
  try {
    await t.step("default jobs exist with the runbook's schedules", async () => {
      const jobs = Object.fromEntries(
        (await sql`select jobname, schedule from cron.job where jobname like 'sauvegarde-%'`)
          .map((row) => [row.jobname, row.schedule]),
      );
      assert.equal(jobs["sauvegarde-database-backup"], "0 2 * * *");
      assert.equal(jobs["sauvegarde-storage-snapshot"], "0 3 * * *");
      assert.equal(jobs["sauvegarde-verify"], "0 * * * *");
      assert.equal(jobs["sauvegarde-cron-history-prune"], "30 4 * * *");
      assert.equal(jobs["sauvegarde-database-backup-frequent"], undefined, "off by default");
    });

    await t.step("sauvegarde_set_schedule adds, changes and removes a job", async () => {
      await sql`select public.sauvegarde_set_schedule('database-backup-frequent', '*/15 * * * *')`;
      let [job] = await sql`select schedule from cron.job
                            where jobname = 'sauvegarde-database-backup-frequent'`;
      assert.equal(job.schedule, "*/15 * * * *");
      await sql`select public.sauvegarde_set_schedule('database-backup-frequent', '*/10 * * * *')`;
      [job] = await sql`select schedule from cron.job
                        where jobname = 'sauvegarde-database-backup-frequent'`;
      assert.equal(job.schedule, "*/10 * * * *");
      await sql`select public.sauvegarde_set_schedule('database-backup-frequent', null)`;
      const gone = await sql`select 1 from cron.job
                             where jobname = 'sauvegarde-database-backup-frequent'`;
      assert.equal(gone.length, 0);
      await assert.rejects(
        sql`select public.sauvegarde_set_schedule('nightly-party', '0 0 * * *')`,
        /Unknown Sauvegarde job "nightly-party"/,
      );
    });

    await t.step("a job's call reaches the function with the secret from Vault", async () => {
      // The body is wrong on purpose: the function's 400 proves the request arrived authorised.
      const [{ id }] = await sql`
        select public.sauvegarde_call('trigger-backup', '{"kind":"nothing"}'::jsonb) as id`;
      const [response] = await sql`select status_code, content from net._http_response
                                   where id = ${id}`;
      assert.equal(response.status_code, 400, response.content);
      assert.match(response.content, /kind/);
    });

    await t.step("without the Vault secrets the call fails loudly", async () => {
      await sql`delete from vault.secrets where name = 'sauvegarde_cron_secret'`;
      await assert.rejects(
        sql`select public.sauvegarde_call('trigger-backup')`,
        /needs the Vault secrets/,
      );
    });
  } finally {
    await sql.end();
    await stack.stop();
  }
});
