/**
 * Cutting a project's pgTAP files into statements as psql would, and reading the TAP pgTAP
 * returns: semicolons inside quotes, dollar quotes and comments stay in their statement; the
 * file's own transaction control and psql settings are left out; a file that needs psql is
 * refused; each TAP result, directive and diagnostic is read as pg_prove reads it.
 */
import assert from "node:assert/strict";
import {
  ScriptRefusedError,
  splitScript,
  testStatements,
} from "../../../shared/restore_test/sql_script.ts";
import { parseTestLine, planProblem, TapReader } from "../../../shared/restore_test/tap.ts";
import {
  type AppTestsReport,
  describeAppTestFailures,
} from "../../../shared/restore_test/app_tests.ts";
import { loadConfig } from "../../../shared/config/mod.ts";

const texts = (script: string) => testStatements(script).map((part) => part.text);

Deno.test("quotes, doubled quotes, E'' escapes and quoted identifiers keep their semicolons", () => {
  const script = `select 'a;b', 'it''s; fine';
select E'back\\'slash;' as "odd;""name";
select 'plain\\'; select 2;`;
  assert.deepEqual(texts(script), [
    "select 'a;b', 'it''s; fine'",
    `select E'back\\'slash;' as "odd;""name"`,
    // Without E, a backslash is an ordinary character: the string ends at the next quote.
    "select 'plain\\'",
    "select 2",
  ]);
});

Deno.test("dollar-quoted function bodies keep their semicolons, whatever their tag", () => {
  const script = `create function public.f() returns int language plpgsql as $$
begin
  perform 1; return 2;
end $$;
do $body$ begin raise notice 'x;y'; perform $$;$$; end $body$;
select $1x, a$b$ from t;`;
  const statements = texts(script);
  assert.equal(statements.length, 3);
  assert.match(statements[0], /perform 1; return 2;\nend \$\$$/);
  assert.match(statements[1], /^do \$body\$.*end \$body\$$/s);
  assert.equal(statements[2], "select $1x, a$b$ from t");
});

Deno.test("comments with semicolons, nested block comments and parentheses do not end a statement", () => {
  const script = `-- a comment; not a statement
select 1 /* one; /* nested; */ still comment; */ + 1;
/* only a comment; */
create rule r as on insert to t do also (insert into u values (1); insert into u values (2));
select 3 -- trailing; comment
;`;
  assert.deepEqual(texts(script), [
    "select 1 /* one; /* nested; */ still comment; */ + 1",
    "create rule r as on insert to t do also (insert into u values (1); insert into u values (2))",
    "select 3 -- trailing; comment",
  ]);
});

Deno.test("a BEGIN ATOMIC routine body is one statement", () => {
  const script = `create or replace function public.g() returns int language sql
begin atomic
  select case when true then 1 end;
  select 2;
end;
select g();`;
  const statements = texts(script);
  assert.equal(statements.length, 2);
  assert.match(statements[0], /select 2;\nend$/);
  assert.equal(statements[1], "select g()");
});

Deno.test("the file's own begin/commit/rollback and psql settings are left out, savepoints kept", () => {
  const script = `\\set ON_ERROR_STOP 1
\\pset format unaligned
BEGIN;
start transaction isolation level serializable;
select plan(1);
savepoint before;
select ok(true);
rollback to savepoint before;
ROLLBACK WORK TO before;
select * from finish();
commit;
end;
rollback;`;
  assert.deepEqual(texts(script), [
    "select plan(1)",
    "savepoint before",
    "select ok(true)",
    "rollback to savepoint before",
    "ROLLBACK WORK TO before",
    "select * from finish()",
  ]);
  const parts = splitScript(script);
  assert.deepEqual(parts.filter((p) => p.kind === "meta").map((p) => p.text), [
    "\\set ON_ERROR_STOP 1",
    "\\pset format unaligned",
  ]);
  assert.equal(parts.find((p) => p.text === "select plan(1)")?.line, 5);
});

function refusal(script: string): ScriptRefusedError {
  try {
    testStatements(script);
  } catch (error) {
    if (error instanceof ScriptRefusedError) return error;
    throw error;
  }
  throw new Error("the script was not refused");
}

Deno.test("a file that includes another, or inlines COPY data, is refused with its line", () => {
  for (const command of ["\\i helpers.sql", "\\ir ../shared.sql", "\\include x.sql"]) {
    const error = refusal(`select plan(1);\n${command}\nselect ok(true);`);
    assert.equal(error.part.line, 2);
    assert.equal(error.part.text, command);
    assert.match(error.message, /includes another file/);
  }
  assert.throws(
    () => testStatements("copy t (a) from stdin;\n1\n\\.\n"),
    /COPY … FROM stdin needs psql/,
  );
  // \if is not \i: only the include commands are refused.
  assert.deepEqual(texts("\\if :x\nselect 1;\n\\endif"), ["select 1"]);
});

Deno.test("TAP test lines: numbers, descriptions, TODO and SKIP directives", () => {
  assert.deepEqual(parseTestLine("ok 1 - table exists"), {
    number: 1,
    ok: true,
    description: "table exists",
    directive: null,
    diagnostics: [],
  });
  const todo = parseTestLine("not ok 2 - later # TODO not built yet")!;
  assert.equal(todo.ok, false);
  assert.equal(todo.description, "later");
  assert.equal(todo.directive, "todo");
  const skip = parseTestLine("ok 3 # SKIP no storage here")!;
  assert.equal(skip.description, "");
  assert.equal(skip.directive, "skip");
  assert.equal(parseTestLine("ok 4 - issue #12 fixed")!.directive, null);
  assert.equal(parseTestLine("ok 4 - issue #12 fixed")!.description, "issue #12 fixed");
  assert.equal(parseTestLine("okay then"), undefined);
});

function read(...values: string[]) {
  const reader = new TapReader();
  for (const value of values) reader.read(value);
  return reader.summary();
}

Deno.test("TAP: a failing test keeps the diagnostics after it, not pgTAP's own summary", () => {
  const tap = read(
    "1..3",
    "ok 1 - first",
    'not ok 2 - counts match\n# Failed test 2: "counts match"\n#         have: 1\n#         want: 2',
    "# Looks like you failed 1 test of 3",
    'not ok 3 - not yet # TODO later\n# Failed (TODO) test 3: "not yet"',
  );
  assert.equal(tap.plan, 3);
  assert.equal(tap.tests.length, 3);
  assert.deepEqual(tap.tests[1].diagnostics, ["have: 1", "want: 2"]);
  assert.equal(tap.tests[2].directive, "todo");
  assert.equal(tap.bailOut, null);
});

Deno.test("TAP: a plan at the end, a bail-out, and runtests() subtests explaining their parent", () => {
  assert.equal(read("ok 1", "ok 2", "1..2").plan, 2);
  assert.equal(read("ok 1", "Bail out! schema missing").bailOut, "schema missing");
  const tap = read(
    "    # Subtest: public.test_rls()",
    "    ok 1 - anon reads nothing",
    '    not ok 2 - owner reads own\n    # Failed test 2: "owner reads own"\n    #         have: 0',
    "    1..2",
    "    # Looks like you failed 1 test of 2",
    "not ok 1 - public.test_rls",
    "1..1",
  );
  assert.equal(tap.tests.length, 1);
  assert.deepEqual(tap.tests[0].diagnostics, ['subtest "owner reads own" failed', "have: 0"]);
});

Deno.test("TAP as a whole: a plan not kept, no plan, no tests and a bail-out fail the file", () => {
  assert.equal(planProblem(read("1..2", "ok 1", "not ok 2")), null);
  assert.equal(planProblem(read("1..0 # SKIP no storage")), null);
  assert.deepEqual(planProblem(read("1..3", "ok 1", "ok 2")), {
    description: "the plan",
    reason: "planned 3 tests, ran 2",
  });
  assert.match(planProblem(read("ok 1"))!.reason, /ran 1 tests without a plan/);
  assert.equal(planProblem(read("# just a note"))!.reason, "no tests ran");
  assert.deepEqual(planProblem(read("1..2", "ok 1", "Bail out! no auth schema")), {
    description: "Bail out!",
    reason: "no auth schema",
  });
});

function report(partial: Partial<AppTestsReport>): AppTestsReport {
  return {
    files: 2,
    tests: 5,
    passed: 5,
    todo: 0,
    skipped: 0,
    failures: [],
    seconds: 1,
    ...partial,
  };
}

Deno.test("the failure sentence names the first failures' files and descriptions", () => {
  const failures = [
    { file: "rls.sql", test: 2, description: "anon cannot read", reason: "have: 1 want: 0" },
    { file: "plan.sql", test: null, description: "the plan", reason: "planned 3 tests, ran 2" },
    { file: "a.sql", test: 1, description: "third", reason: "failed" },
    { file: "b.sql", test: 1, description: "fourth", reason: "failed" },
  ];
  const sentence = describeAppTestFailures(report({ failures }));
  assert.match(sentence, /rls\.sql test 2 "anon cannot read" \(have: 1 want: 0\)/);
  assert.match(sentence, /plan\.sql "the plan" \(planned 3 tests, ran 2\)/);
  assert.match(sentence, /and 1 more\.$/);
  assert.doesNotMatch(sentence, /fourth/);
  assert.match(describeAppTestFailures(report({})), /5 pgTAP tests in 2 files passed/);
});

Deno.test("SAUVEGARDE_APP_TESTS_DIR is read into the configuration, unset by default", () => {
  assert.equal(loadConfig({ SAUVEGARDE_APP_TESTS_DIR: "db/tests" }).appTestsDir, "db/tests");
  assert.equal(loadConfig({}).appTestsDir, undefined);
});
