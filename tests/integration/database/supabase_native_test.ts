/**
 * Supabase-native backup and restore: an app on a Supabase-like project (its trigger on
 * auth.users, its policies on storage.objects and realtime.messages, the privileges it revoked
 * from the API roles, default privileges it narrowed, a role of its own, pg_cron jobs) is
 * backed up and restored into a new project on another cluster (the baseline applied first,
 * as a new project has it), and comes back whole: pg_dump as the oracle for `public`, the
 * catalogs for the rest.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import { readSchema } from "../../../shared/database/catalog/mod.ts";
import { restoreDatabase } from "../../../shared/database/restore/mod.ts";
import { Repository } from "../../../shared/repository/mod.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import { applySqlFile, type PostgresCluster, startPostgres } from "../../../stack/postgres.ts";
import { assertSameDump, pgDump, psqlScript } from "../../support/pg_oracle.ts";

/** The seventeen functions an app meant for signed-in users only. */
const SIGNED_IN_ONLY = Array.from({ length: 17 }, (_, i) => `public.feature_${i + 1}()`);

/** The app, as its migrations and the dashboard left it. */
const APP = `
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  username text,
  created_at timestamptz default now()
);
alter table public.profiles enable row level security;
create policy "own profile" on public.profiles for select to authenticated
  using ((select auth.uid()) = id);
create function public.handle_new_user() returns trigger language plpgsql security definer
  set search_path = '' as $$
begin
  insert into public.profiles (id, username) values (new.id, new.raw_user_meta_data ->> 'username');
  return new;
end $$;
revoke execute on function public.handle_new_user() from public, anon, authenticated;
create trigger on_auth_user_created after insert on auth.users
  for each row execute function public.handle_new_user();

insert into storage.buckets (id, name, public) values ('avatars', 'avatars', true);
create policy "avatars are public" on storage.objects for select using (bucket_id = 'avatars');
create policy "users upload their own avatar" on storage.objects for insert to authenticated
  with check (bucket_id = 'avatars' and (select auth.uid())::text = split_part(name, '/', 1));
alter table storage.objects force row level security;
create policy "room members read" on realtime.messages for select to authenticated
  using (topic like 'room:%' and private);
create policy "room members write" on realtime.messages for insert to authenticated
  with check (topic like 'room:%');

create table public.scores (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  score integer not null,
  unique (user_id)
);
revoke all on table public.scores from anon;
revoke insert, update, delete, truncate on table public.scores from authenticated;
revoke usage on sequence public.scores_id_seq from anon;
create table public.secrets (id serial primary key, value text);
revoke all on table public.secrets from anon, authenticated;
revoke all on sequence public.secrets_id_seq from anon, authenticated;
grant select (id) on public.secrets to authenticated;
create view public.leaderboard as select user_id, score from public.scores order by score desc;
revoke all on public.leaderboard from anon;
grant select on public.leaderboard to anon;

-- Only the service role may record a score.
create function public.upsert_score(who uuid, points integer) returns void language sql
  security definer set search_path = '' as $$
  insert into public.scores (user_id, score) values (who, points)
  on conflict (user_id) do update set score = excluded.score
$$;
revoke all on function public.upsert_score(uuid, integer) from public, anon, authenticated;
grant execute on function public.upsert_score(uuid, integer) to service_role;

-- Seventeen functions for signed-in users only.
do $$
begin
  for i in 1..17 loop
    execute format('create function public.feature_%s() returns integer language sql as %L',
      i, 'select ' || i);
    execute format('revoke execute on function public.feature_%s() from public, anon', i);
  end loop;
end $$;

-- From here on, new functions are not for anon, nor anybody by default.
alter default privileges in schema public revoke execute on functions from anon;
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke all on sequences from anon, authenticated;
create function public.after_defaults() returns integer language sql as 'select 1';

-- A role of the app's own, with a login member, owning a table.
create role app_reporter nologin noinherit bypassrls connection limit 5
  valid until '2031-01-01 00:00:00+00';
alter role app_reporter set statement_timeout = '15s';
alter role app_reporter set search_path = public, extensions;
create role app_login login password 'never-carried' in role app_reporter;
grant app_reporter to authenticator;
grant authenticated to app_reporter with admin option;
grant select on public.scores to app_reporter;
create table public.reports (id int primary key, body text);
alter table public.reports owner to app_reporter;
revoke all on public.reports from anon;

create extension if not exists pg_cron;
select cron.schedule('nightly-cleanup', '0 3 * * *', 'delete from public.scores where score < 0');
select cron.schedule('weekly-report', '0 4 * * 1', 'select count(*) from public.reports');
create schema app_log;
create table app_log.heartbeats (at timestamptz default now());
select cron.schedule('heartbeat', '* * * * *', 'insert into app_log.heartbeats default values');

insert into auth.users (id, email, raw_user_meta_data)
  values ('00000000-0000-0000-0000-0000000000a1', 'a@example.com', '{"username": "ada"}');
insert into auth.sessions (id, user_id)
  values ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000a1');
insert into public.scores (user_id, score) values ('00000000-0000-0000-0000-0000000000a1', 10);
`;

async function rows<T extends postgres.Row>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return [...await sql.unsafe<T[]>(text)];
  } finally {
    await sql.end();
  }
}

/** Every privilege in `public`, as text: relations, columns, functions, the schema, defaults. */
const ACLS = `
  select 'relation ' || c.relname as what, pg_get_userbyid(c.relowner) as owner,
    coalesce(c.relacl, acldefault((case c.relkind when 'S' then 's' else 'r' end)::"char",
      c.relowner))::text as acl
  from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind <> 'i'
  union all
  select 'column ' || c.relname || '.' || a.attname, null, a.attacl::text
  from pg_attribute a join pg_class c on c.oid = a.attrelid
  where c.relnamespace = 'public'::regnamespace and a.attacl is not null
  union all
  select 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
    pg_get_userbyid(p.proowner), coalesce(p.proacl, acldefault('f', p.proowner))::text
  from pg_proc p where p.pronamespace = 'public'::regnamespace
  union all
  select 'schema public', pg_get_userbyid(n.nspowner), n.nspacl::text
  from pg_namespace n where n.nspname = 'public'
  union all
  select 'default ' || pg_get_userbyid(d.defaclrole) || ' ' || coalesce(n.nspname, '*') || ' ' ||
    d.defaclobjtype::text, null, d.defaclacl::text
  from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace
  order by 1`;

const POLICIES = `
  select schemaname, tablename, policyname, permissive, roles::text, cmd, qual, with_check
  from pg_policies where schemaname in ('public', 'auth', 'storage', 'realtime')
  order by 1, 2, 3`;

const ROLES = `
  select r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
    r.rolreplication, r.rolbypassrls, r.rolconnlimit, r.rolvaliduntil::text,
    (select s.setconfig::text from pg_db_role_setting s
      where s.setrole = r.oid and s.setdatabase = 0) as settings,
    array(select pg_get_userbyid(m.roleid) || case when m.admin_option then ' (admin)' else '' end
      from pg_auth_members m where m.member = r.oid order by 1)::text as "memberOf",
    array(select pg_get_userbyid(m.member) from pg_auth_members m where m.roleid = r.oid
      order by 1)::text as members
  from pg_roles r where r.rolname in ('app_reporter', 'app_login', 'authenticator')
  order by 1`;

const ROW_SECURITY = `
  select c.oid::regclass::text as name, c.relrowsecurity, c.relforcerowsecurity from pg_class c
  where c.oid in ('storage.objects'::regclass, 'realtime.messages'::regclass,
    'public.profiles'::regclass)
  order by 1`;

async function withProjects(
  fn: (
    projects: { source: PostgresCluster; target: PostgresCluster; repository: Repository },
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-supabase-native-" });
  const source = await startPostgres({ supabase: true });
  let target: PostgresCluster | undefined;
  try {
    target = await startPostgres({ supabase: true });
    await fn({
      source,
      target,
      repository: new Repository(new FileTarget(dir), { compression: "zstd" }),
    });
  } finally {
    await target?.stop();
    await source.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("a Supabase app restores into a new project with its hooks, privileges, roles and cron jobs", async () => {
  await withProjects(async ({ source, target, repository }) => {
    await psqlScript(source.url, APP);
    const reader = postgres(source.url, { max: 1, onnotice: () => {} });
    const schema = await readSchema(reader).finally(() => reader.end());
    // The app's roles, not the platform's, each created first, then their memberships.
    const roleStatements = schema.statements.filter((s) => s.kind.startsWith("ROLE"));
    assert.deepEqual(roleStatements.map((s) => `${s.kind} ${s.name}`), [
      "ROLE app_login",
      "ROLE app_reporter",
      "ROLE MEMBERSHIP app_reporter TO app_login",
      "ROLE MEMBERSHIP app_reporter TO authenticator",
      "ROLE MEMBERSHIP authenticated TO app_reporter",
    ]);
    assert.deepEqual(
      schema.statements.slice(1, 6).map((s) => s.kind),
      ["ROLE", "ROLE", "ROLE MEMBERSHIP", "ROLE MEMBERSHIP", "ROLE MEMBERSHIP"],
      "the roles open pre-data",
    );
    assert.ok(!roleStatements.some((s) => /PASSWORD|never-carried/i.test(s.sql)));
    const copied = schema.tables.map((t) => `${t.schema}.${t.name}`);
    for (const table of ["auth.users", "storage.buckets", "supabase_functions.hooks", "cron.job"]) {
      assert.ok(copied.includes(table), `${table} is copied`);
    }
    assert.ok(schema.statements.some((s) => s.kind === "CRON RELOAD"));
    for (const table of ["auth.sessions", "auth.refresh_tokens"]) {
      assert.ok(!copied.includes(table), `${table} is left out`);
    }

    const backup = await backupDatabase({ db: source.url, repository });
    const restore = await restoreDatabase({
      repository,
      backupId: backup.backupId,
      db: target.url,
      allowUnauthenticated: true,
    });
    assert.deepEqual(restore.skippedTables, []);
    const restored = new Date();

    // pg_dump finds public identical, schema and data.
    for (const flags of [["--schema-only"], ["--data-only"]]) {
      assertSameDump(
        await pgDump(source.url, ...flags, "--schema=public"),
        await pgDump(target.url, ...flags, "--schema=public"),
        `pg_dump ${flags[0]} --schema=public`,
      );
    }
    // Every ACL in public, default privileges included, is the source's, item order included.
    assert.deepEqual(await rows(target.url, ACLS), await rows(source.url, ACLS));
    assert.deepEqual(await rows(target.url, POLICIES), await rows(source.url, POLICIES));
    assert.deepEqual(await rows(target.url, ROW_SECURITY), await rows(source.url, ROW_SECURITY));

    // What the app revoked stays revoked.
    const [can] = await rows<{ anon: boolean; authenticated: boolean; service: boolean }>(
      target.url,
      `select
         (select bool_or(has_function_privilege('anon', f, 'execute'))
           from unnest(array[${SIGNED_IN_ONLY.map((f) => `'${f}'`).join(", ")}]) f) as anon,
         (select bool_and(has_function_privilege('authenticated', f, 'execute'))
           from unnest(array[${SIGNED_IN_ONLY.map((f) => `'${f}'`).join(", ")}]) f)
           as authenticated,
         has_function_privilege('service_role', 'public.upsert_score(uuid, integer)', 'execute')
           as service`,
    );
    assert.deepEqual(can, { anon: false, authenticated: true, service: true });
    const [upsert] = await rows<Record<string, boolean>>(
      target.url,
      `select
         has_function_privilege('anon', 'public.upsert_score(uuid, integer)', 'execute') as anon,
         has_function_privilege('authenticated', 'public.upsert_score(uuid, integer)',
           'execute') as authenticated,
         has_function_privilege('anon', 'public.after_defaults()', 'execute') as "anonLater",
         has_table_privilege('anon', 'public.secrets', 'select') as "anonSecrets",
         has_table_privilege('authenticated', 'public.scores', 'insert') as "userInserts"`,
    );
    assert.deepEqual(upsert, {
      anon: false,
      authenticated: false,
      anonLater: false,
      anonSecrets: false,
      userInserts: false,
    });

    // The app's roles exist as they were, without a password; the platform's are untouched.
    assert.deepEqual(await rows(target.url, ROLES), await rows(source.url, ROLES));
    const [password] = await rows<{ password: string | null }>(
      target.url,
      "select rolpassword as password from pg_authid where rolname = 'app_login'",
    );
    assert.equal(password.password, null);

    // pg_cron's jobs are carried (as its configuration table's rows).
    const CRON = "select jobname, schedule, command, username, active from cron.job order by 1";
    assert.deepEqual(await rows(target.url, CRON), await rows(source.url, CRON));

    // A sign-up in the new project makes its profile, as in the source.
    await rows(
      target.url,
      `insert into auth.users (id, email, raw_user_meta_data) values
         ('00000000-0000-0000-0000-0000000000a2', 'b@example.com', '{"username": "grace"}')`,
    );
    const profiles = await rows(target.url, "select username from public.profiles order by 1");
    assert.deepEqual(profiles.map((p) => p.username), ["ada", "grace"]);
    // Sessions were left out.
    const [sessions] = await rows<{ n: number }>(
      target.url,
      "select count(*)::int as n from auth.sessions",
    );
    assert.equal(sessions.n, 0);

    // pg_cron runs the restored jobs (it was told they are there): the every-minute one beats
    // within a minute and a bit.
    const deadline = Date.now() + 75_000;
    let beats = 0;
    while (beats === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const [row] = await rows<{ n: number }>(
        target.url,
        `select count(*)::int as n from cron.job_run_details d join cron.job j using (jobid)
         where j.jobname = 'heartbeat' and d.status = 'succeeded'
           and d.start_time > '${restored.toISOString()}'`,
      );
      beats = row.n;
    }
    assert.ok(beats > 0, "the restored every-minute job ran in the new project");
  });
});

Deno.test("restored into a project that already has some of it, the restore keeps what is there", async () => {
  await withProjects(async ({ source, target, repository }) => {
    const app = await source.createDatabase("app");
    await applySqlFile(app, "supabase_baseline.sql");
    await psqlScript(
      app,
      `create role app_reader nologin;
       create table public.notes (id int primary key, body text);
       grant select on public.notes to app_reader;
       revoke all on public.notes from anon;
       create function public.on_signup() returns trigger language plpgsql as
         $$ begin insert into public.notes values (1, new.email); return new; end $$;
       create trigger on_auth_user_created after insert on auth.users
         for each row execute function public.on_signup();
       create policy "avatars are public" on storage.objects for select
         using (bucket_id = 'avatars');
       create policy "room members read" on realtime.messages for select to app_reader
         using (true);`,
    );
    const backup = await backupDatabase({ db: app, repository });

    // The project made its own app_reader (a login role) and a policy of that name already.
    const project = await target.createDatabase("project");
    await applySqlFile(project, "supabase_baseline.sql");
    await psqlScript(
      project,
      `create role app_reader login connection limit 1;
       create policy "avatars are public" on storage.objects for select to authenticated
         using (bucket_id = 'avatars' and owner is not null);`,
    );
    await restoreDatabase({
      repository,
      backupId: backup.backupId,
      db: project,
      allowUnauthenticated: true,
    });
    const [role] = await rows(
      project,
      "select rolcanlogin, rolconnlimit from pg_roles where rolname = 'app_reader'",
    );
    assert.deepEqual(role, { rolcanlogin: true, rolconnlimit: 1 }, "an existing role is kept");
    const policies = await rows(
      project,
      `select tablename, policyname, roles::text, qual from pg_policies
       where schemaname in ('storage', 'realtime') order by 1, 2`,
    );
    assert.deepEqual(policies, [
      {
        tablename: "messages",
        policyname: "room members read",
        roles: "{app_reader}",
        qual: "true",
      },
      {
        tablename: "objects",
        policyname: "avatars are public",
        roles: "{authenticated}",
        qual: "((bucket_id = 'avatars'::text) AND (owner IS NOT NULL))",
      },
    ]);
    await rows(project, "insert into auth.users (id, email) values (gen_random_uuid(), 'n@e.x')");
    const notes = await rows(project, "select body from public.notes");
    assert.deepEqual(notes, [{ body: "n@e.x" }]);
  });
});
