/**
 * A project's own pgTAP files run by the engine against a real PostgreSQL with pgTAP, as the
 * restore test runs them on a restored copy: passing files pass, a failing test is named, a
 * TODO may fail, a plan not kept and a statement error fail their file, and nothing a test
 * writes stays behind.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  type AppTestFile,
  describeAppTestFailures,
  loadAppTests,
  runAppTests,
} from "../../../shared/restore_test/app_tests.ts";
import { psqlScript, queryRows, withOracleCluster } from "../../support/pg_oracle.ts";

/** The "restored" application: a table with row-level security, two rows, two roles. */
const SCHEMA = `
  do $$ begin create role note_reader; exception when duplicate_object then null; end $$;
  do $$ begin create role note_writer; exception when duplicate_object then null; end $$;
  create table public.notes (id int primary key, owner text not null, body text);
  alter table public.notes enable row level security;
  create policy "owner reads" on public.notes for select using (owner = current_user);
  grant select on public.notes to note_reader, note_writer;
  insert into public.notes values (1, 'note_reader', 'mine'), (2, 'note_writer', 'theirs');`;

const RLS_FILE = `-- Policies of public.notes; statements with ';' in strings and bodies.
\\set ON_ERROR_STOP 1
select plan(5);
select has_table('public', 'notes', 'notes exists');
select policies_are('public', 'notes', array['owner reads'], 'only the owner policy');
select results_eq('select count(*)::int from public.notes', array[2], 'the owner of the table sees both; rows');
select throws_ok(
  $$insert into public.notes values (1, 'x', 'dup; again')$$,
  '23505', null, 'a duplicate id is refused'
);
set local role note_reader;
select results_eq(
  $$select body from public.notes$$, array['mine'], 'a reader sees only their own note'
);
reset role;
select * from finish();
`;

/** As Supabase's docs write a test: the file opens and rolls back its own transaction. */
const DOCS_STYLE_FILE = `begin;
select plan(1);
select has_column('public', 'notes', 'body', 'notes have a body');
select * from finish();
rollback;
`;

const FAILING_FILE = `select plan(2);
select ok(true, 'this one holds');
select is((select count(*)::int from public.notes), 99, 'ninety-nine notes were restored');
`;

const TODO_FILE = `select plan(2);
select todo('search is not built yet', 1);
select ok(false, 'notes are searchable');
select ok(true, 'notes are listed');
`;

const PLAN_FILE = `select plan(3);
select ok(true, 'one');
select ok(true, 'two');
`;

const BROKEN_FILE = `select plan(2);
insert into public.notes values (20, 'note_reader', 'before the error');
select ok(true, 'before the error');
select no_such_function();
select ok(true, 'after the error');
`;

/** Its own COMMIT must not keep its writes: the engine's transaction is always rolled back. */
const WRITES_FILE = `begin;
select plan(2);
insert into public.notes values (10, 'note_writer', 'written by a test');
create table public.leftover (id int);
select is((select count(*)::int from public.notes), 3, 'the test sees its own row');
select has_table('public', 'leftover', 'the test sees its own table');
commit;
`;

const XUNIT_FILE =
  `create function public.test_notes_owned() returns setof text language plpgsql as $$
begin
  return next ok((select count(*) from public.notes where owner is null) = 0, 'every note has an owner');
  return next is((select count(*)::int from public.notes), 2, 'two notes');
end $$;
select * from runtests('public'::name, '^test_notes');
`;

/** A bail-out stops the file: the test after it never runs, and no plan failure is added. */
const BAIL_FILE = `select plan(2);
select ok(true, 'first');
select 'Bail out! the schema is not there';
select ok(true, 'never');
`;

const INCLUDE_FILE = `select plan(1);
\\i helpers/setup.sql
select ok(true);
`;

function file(path: string, text: string): AppTestFile {
  return { path, text };
}

Deno.test("the project's pgTAP files run on a real database: what passes, what fails, nothing kept", async () => {
  await withOracleCluster(async (cluster) => {
    const url = await cluster.database("app_tests");
    await psqlScript(url, SCHEMA);
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    try {
      const passing = await runAppTests(sql, [
        file("rls/notes_test.sql", RLS_FILE),
        file("docs_style_test.sql", DOCS_STYLE_FILE),
        file("xunit_test.sql", XUNIT_FILE),
      ]);
      assert.deepEqual(passing.failures, []);
      assert.equal(passing.files, 3);
      // 5 + 1, and runtests() reports one top-level test per test function.
      assert.equal(passing.tests, 7);
      assert.equal(passing.passed, 7);
      assert.ok(passing.seconds > 0);

      const report = await runAppTests(sql, [
        file("failing_test.sql", FAILING_FILE),
        file("todo_test.sql", TODO_FILE),
        file("plan_test.sql", PLAN_FILE),
        file("broken_test.sql", BROKEN_FILE),
        file("writes_test.sql", WRITES_FILE),
        file("include_test.sql", INCLUDE_FILE),
        file("bail_test.sql", BAIL_FILE),
      ]);
      const byFile = Object.groupBy(report.failures, (failure) => failure.file);
      // A failing test is named with its number and what pgTAP said.
      assert.deepEqual(byFile["failing_test.sql"]?.map((f) => [f.test, f.description]), [
        [2, "ninety-nine notes were restored"],
      ]);
      assert.match(byFile["failing_test.sql"]![0].reason, /have: 2; want: 99/);
      // A TODO test that fails is not a failure.
      assert.equal(byFile["todo_test.sql"], undefined);
      assert.equal(report.todo, 1);
      assert.deepEqual(byFile["plan_test.sql"]?.map((f) => f.reason), [
        "planned 3 tests, ran 2",
      ]);
      // The file stops at its error, which names the statement and the server's message.
      const broken = byFile["broken_test.sql"];
      assert.equal(broken?.length, 1, JSON.stringify(broken));
      assert.match(broken![0].description, /^line 4: select no_such_function\(\)/);
      assert.match(broken![0].reason, /function no_such_function\(\) does not exist/);
      assert.equal(byFile["writes_test.sql"], undefined);
      assert.match(byFile["include_test.sql"]![0].description, /\\i helpers\/setup\.sql/);
      assert.match(byFile["include_test.sql"]![0].reason, /includes another file/);
      assert.deepEqual(byFile["bail_test.sql"]?.map((f) => [f.description, f.reason]), [
        ["Bail out!", "the schema is not there"],
      ]);
      assert.equal(report.failures.length, 5);
      // failing 2 + todo 2 + plan 2 + broken 1 (before its error) + writes 2 + bail 1.
      assert.equal(report.tests, 10);
      assert.equal(report.passed, 8);

      const sentence = describeAppTestFailures(report);
      assert.match(sentence, /failing_test\.sql test 2 "ninety-nine notes were restored"/);
      assert.match(sentence, /plan_test\.sql/);

      // Everything the files wrote was rolled back: rows, tables, the xUnit function.
      const [left] = await queryRows<Record<string, unknown>>(
        url,
        `select (select count(*)::int from public.notes) as notes,
           to_regclass('public.leftover') is null as no_table,
           to_regprocedure('public.test_notes_owned()') is null as no_function`,
      );
      assert.deepEqual(left, { notes: 2, no_table: true, no_function: true });
    } finally {
      await sql.end();
    }
  });
});

Deno.test("a server without pgtap for the role, and an abort, stop the run with a clear error", async () => {
  await withOracleCluster(async (cluster) => {
    const url = await cluster.database("app_tests_limits");
    await psqlScript(
      url,
      `do $$ begin create role plain_owner login; exception when duplicate_object then null; end $$;`,
    );
    const plain = new URL(url);
    plain.username = "plain_owner";
    const unprivileged = postgres(plain.href, { max: 1, onnotice: () => {} });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      // pgtap is not a trusted extension: an ordinary role may not create it.
      await assert.rejects(
        runAppTests(unprivileged, [file("a_test.sql", "select plan(1); select pass();")]),
        /needs? the pgtap extension on the scratch server.*permission denied/s,
      );
      // No files: nothing to run, nothing asked of the server.
      assert.equal((await runAppTests(unprivileged, [])).tests, 0);

      // An abort cancels the statement that is running.
      const started = performance.now();
      await assert.rejects(
        runAppTests(sql, [file("slow_test.sql", "select plan(1);\nselect pg_sleep(30);")], {
          signal: AbortSignal.timeout(500),
        }),
        (error: Error) => error.name === "TimeoutError",
      );
      assert.ok(performance.now() - started < 10_000, "the sleep was cancelled");
    } finally {
      await unprivileged.end();
      await sql.end();
    }
  });
});

Deno.test("loadAppTests reads every .sql file under the folder, nested, sorted by path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-app-tests-" });
  try {
    await Deno.mkdir(`${dir}/rls/deep`, { recursive: true });
    await Deno.writeTextFile(`${dir}/b_test.sql`, "select 2;");
    await Deno.writeTextFile(`${dir}/a_test.sql`, "select 1;");
    await Deno.writeTextFile(`${dir}/rls/deep/policies_test.sql`, "select 3;");
    await Deno.writeTextFile(`${dir}/rls/README.md`, "not a test");
    const files = await loadAppTests(dir);
    assert.deepEqual(files, [
      { path: "a_test.sql", text: "select 1;" },
      { path: "b_test.sql", text: "select 2;" },
      { path: "rls/deep/policies_test.sql", text: "select 3;" },
    ]);
    assert.deepEqual(await loadAppTests(`${dir}/missing`), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
