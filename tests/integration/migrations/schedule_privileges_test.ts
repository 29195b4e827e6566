import assert from "node:assert/strict";
import postgres from "postgres";
import { applyMigrations, MIGRATIONS_DIR } from "../../../shared/pg/migrate.ts";
import { startPostgres } from "../../../stack/postgres.ts";

type Sql = ReturnType<typeof postgres>;

/** The migration that closes the schedules to the API roles. */
const FIX_MIGRATION = "20261207000000_schedule_privileges.sql";

/** What a job would run if an attacker had its way: it reads Vault as postgres. */
const ATTACK = "create table public.pwned as select decrypted_secret from vault.decrypted_secrets";

/** The commands the migrations ship, character for character. */
const SHIPPED = {
  verify: "select public.sauvegarde_call('verify-backups', '{}'::jsonb, 60000)",
  "database-backup-frequent":
    `select public.sauvegarde_call('trigger-backup', '{"kind":"database"}'::jsonb)`,
};

/** Every role PostgREST may switch to, with the JWT claims it would put in the transaction. */
const API_ROLES: Array<{ label: string; role: string; claims: Record<string, unknown> }> = [
  { label: "anon", role: "anon", claims: { role: "anon" } },
  {
    label: "a signed-in user",
    role: "authenticated",
    claims: { role: "authenticated", sub: crypto.randomUUID(), app_metadata: {} },
  },
  {
    label: "a backup admin (app_metadata)",
    role: "authenticated",
    claims: {
      role: "authenticated",
      sub: crypto.randomUUID(),
      app_metadata: { backup_admin: true },
    },
  },
  { label: "the service role", role: "service_role", claims: { role: "service_role" } },
];

/** Runs statements in one transaction set up the way PostgREST sets up each request. */
async function asApiRole(
  sql: Sql,
  who: { role: string; claims: Record<string, unknown> },
  statements: string[],
): Promise<postgres.Row[]> {
  return await sql.begin(async (tx) => {
    await tx.unsafe(`set local role ${who.role}`);
    await tx`select set_config('request.jwt.claims', ${JSON.stringify(who.claims)}, true)`;
    let rows: postgres.Row[] = [];
    for (const statement of statements) rows = [...await tx.unsafe(statement)];
    return rows;
  }) as postgres.Row[];
}

async function cronCommands(sql: Sql): Promise<Record<string, string>> {
  const rows = await sql`select jobname, command from cron.job
                         where jobname like 'sauvegarde-%' order by jobname`;
  return Object.fromEntries(rows.map((row) => [row.jobname, row.command]));
}

/** The migrations folder as it was before the fix, in a temporary folder. */
async function migrationsBeforeFix(): Promise<URL> {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-migrations-" });
  for await (const entry of Deno.readDir(MIGRATIONS_DIR)) {
    if (!entry.name.endsWith(".sql") || entry.name >= FIX_MIGRATION) continue;
    await Deno.copyFile(new URL(entry.name, MIGRATIONS_DIR), `${dir}/${entry.name}`);
  }
  return new URL(`file://${dir}/`);
}

Deno.test("no API role can change a schedule or make pg_cron run its SQL as postgres", async (t) => {
  const cluster = await startPostgres();
  const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
  try {
    await t.step(
      "the baseline grants the API roles all on new objects in public, as Supabase does",
      async () => {
        // Otherwise the refusals below would prove nothing about a hosted project.
        await sql`create table public.probe (id int)`;
        await sql`create function public.probe() returns int language sql as 'select 1'`;
        const [row] = await sql`select
        has_table_privilege('service_role', 'public.probe', 'update') as "table",
        has_function_privilege('service_role', 'public.probe()', 'execute') as "function"`;
        await sql`drop table public.probe`;
        await sql`drop function public.probe()`;
        assert.deepEqual({ ...row }, { table: true, function: true });
      },
    );

    await applyMigrations(cluster.url);
    const before = await cronCommands(sql);
    assert.equal(before["sauvegarde-verify"], SHIPPED.verify);

    for (const who of API_ROLES) {
      await t.step(
        `${who.label} can neither write the schedules nor call their functions`,
        async () => {
          const attempts = [
            `update public.sauvegarde_schedules set command = $a$${ATTACK}$a$ where job = 'verify'`,
            `insert into public.sauvegarde_schedules (job, default_schedule, command, description)
           values ('pwn', '* * * * *', $a$${ATTACK}$a$, 'pwn')`,
            `delete from public.sauvegarde_schedules`,
            `select public.sauvegarde_set_schedule('verify', '* * * * *')`,
            `select public.sauvegarde_set_schedule('verify', null)`,
            `select public.sauvegarde_call('trigger-backup')`,
            `select public.sauvegarde_job_command('verify')`,
            `update cron.job set command = $a$${ATTACK}$a$ where jobname = 'sauvegarde-verify'`,
            `select cron.schedule('sauvegarde-verify', '* * * * *', $a$${ATTACK}$a$)`,
            // The attack as reported: rewrite the command, then have it scheduled.
            `update public.sauvegarde_schedules set command = $a$${ATTACK}$a$ where job = 'verify';
           select public.sauvegarde_set_schedule('verify', '* * * * *')`,
          ];
          for (const attempt of attempts) {
            await assert.rejects(
              asApiRole(sql, who, [attempt]),
              /permission denied/,
              `${who.label} was not refused: ${attempt}`,
            );
          }
          assert.deepEqual(await cronCommands(sql), before, "cron.job is unchanged");
          const [row] = await sql`select command from public.sauvegarde_schedules
                                where job = 'verify'`;
          assert.equal(row.command, SHIPPED.verify);
        },
      );
    }

    await t.step(
      "backup admins and the service role still read the suite, others do not",
      async () => {
        const [admin, service] = [API_ROLES[2], API_ROLES[3]];
        const query = "select job from public.sauvegarde_schedules";
        assert.ok((await asApiRole(sql, admin, [query])).length >= 9);
        assert.ok((await asApiRole(sql, service, [query])).length >= 9);
        assert.equal((await asApiRole(sql, API_ROLES[1], [query])).length, 0);
        await assert.rejects(asApiRole(sql, API_ROLES[0], [query]), /permission denied/);
      },
    );

    await t.step(
      "postgres sets and clears a schedule, always with the shipped command",
      async () => {
        // Even a row rewritten by the table's owner is not what gets scheduled.
        await sql`update public.sauvegarde_schedules set command = ${ATTACK}
                where job = 'database-backup-frequent'`;
        await sql`select public.sauvegarde_set_schedule('database-backup-frequent', '*/15 * * * *')`;
        const [job] = await sql`select schedule, command, username from cron.job
                              where jobname = 'sauvegarde-database-backup-frequent'`;
        assert.equal(job.schedule, "*/15 * * * *");
        assert.equal(job.command, SHIPPED["database-backup-frequent"]);
        assert.equal(job.username, "postgres");
        await sql`select public.sauvegarde_set_schedule('database-backup-frequent', null)`;
        const gone = await sql`select from cron.job
                             where jobname = 'sauvegarde-database-backup-frequent'`;
        assert.equal(gone.length, 0);
        await assert.rejects(
          sql`select public.sauvegarde_set_schedule('pwn', '* * * * *')`,
          /Unknown Sauvegarde job "pwn"/,
        );
      },
    );

    await t.step("every scheduled job runs the command its migration ships", async () => {
      const rows = await sql`
        select j.jobname, j.command, public.sauvegarde_job_command(substr(j.jobname, length('sauvegarde-') + 1)) as shipped
        from cron.job j where j.jobname like 'sauvegarde-%'`;
      assert.ok(rows.length >= 7);
      for (const row of rows) assert.equal(row.command, row.shipped, row.jobname);
    });
  } finally {
    await sql.end();
    await cluster.stop();
  }
});

Deno.test("a project whose schedules were tampered with gets the shipped commands back", async () => {
  const cluster = await startPostgres();
  const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
  const before = await migrationsBeforeFix();
  try {
    await applyMigrations(cluster.url, { dir: before });
    // What the service role could do before the fix (this is the attack the migration undoes).
    await asApiRole(sql, API_ROLES[3], [
      `update public.sauvegarde_schedules set command = $a$${ATTACK}$a$ where job = 'verify'`,
      `select public.sauvegarde_set_schedule('verify', '*/5 * * * *')`,
      `insert into public.sauvegarde_schedules (job, default_schedule, command, description)
       values ('pwn', '* * * * *', $a$${ATTACK}$a$, 'pwn')`,
      `select public.sauvegarde_set_schedule('pwn', '* * * * *')`,
    ]);
    let commands = await cronCommands(sql);
    assert.equal(commands["sauvegarde-verify"], ATTACK, "the old migrations let it through");

    // The fix and whatever migrations came after it.
    assert.equal((await applyMigrations(cluster.url))[0], FIX_MIGRATION.split("_")[0]);
    commands = await cronCommands(sql);
    assert.equal(commands["sauvegarde-verify"], SHIPPED.verify);
    assert.equal(commands["sauvegarde-pwn"], undefined, "a job the migrations do not ship is gone");
    const [job] = await sql`select schedule from cron.job where jobname = 'sauvegarde-verify'`;
    assert.equal(job.schedule, "*/5 * * * *", "the schedule an operator chose is kept");
    const rows = await sql`select job, command, public.sauvegarde_job_command(job) as shipped
                           from public.sauvegarde_schedules`;
    assert.ok(rows.every((row) => row.command === row.shipped));
    assert.ok(!rows.some((row) => row.job === "pwn"));
  } finally {
    await sql.end();
    await cluster.stop();
    await Deno.remove(before, { recursive: true });
  }
});
