/**
 * Aggregates, operators, operator families and classes, base types and index column
 * statistics targets: each backed up, restored and exported, and compared with pg_dump (see
 * `assertRoundTrip`), and none of them reported as left out any more.
 */
import assert from "node:assert/strict";
import type { DatabaseSchema } from "../../../shared/database/catalog/mod.ts";
import { assertRoundTrip, readSchemaAt, withOracleCluster } from "../../support/pg_oracle.ts";

/** Cluster-wide roles, created only when missing. */
const ROLES = `
  do $$ begin create role "Ledger Owner"; exception when duplicate_object then null; end $$;
  do $$ begin create role report_reader; exception when duplicate_object then null; end $$;
`;

const read = (url: string) => readSchemaAt(url);

/** The SQL of every statement of one kind. */
function sqlOf(schema: DatabaseSchema, kind: string): string[] {
  return schema.statements.filter((s) => s.kind === kind).map((s) => s.sql);
}

function assertNoWarningAbout(schema: DatabaseSchema, pattern: RegExp): void {
  for (const warning of schema.warnings) {
    assert.ok(!pattern.test(warning), `unexpected warning: ${warning}`);
  }
}

Deno.test("aggregates, plain, moving, ordered-set and hypothetical, restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}
      create schema "Ledger";
      create domain "Ledger".money_eur as numeric(12,2) check (value > -1000000);
      create type "Ledger".pair as (debit numeric, credit numeric);
      create function "Ledger".pair_add(state "Ledger".pair, amount "Ledger".money_eur)
        returns "Ledger".pair language sql immutable as $$
          select case when amount >= 0 then ((state).debit + amount, (state).credit)::"Ledger".pair
            else ((state).debit, (state).credit - amount)::"Ledger".pair end $$;
      create function "Ledger".join_step(acc text, word text, sep text) returns text
        language sql immutable as $$
          select case when acc is null then word else acc || sep || word end $$;
      create function "Ledger".spread_final(state float8[], extra float8) returns float8
        language sql immutable as $$ select state[3] / nullif(state[1], 0) $$;
      create function "Ledger".float8_unaccum(state float8[], v float8) returns float8[]
        language sql immutable strict as $$
          select array[state[1] - 1, state[2] - v, state[3] - v * v] $$;

      -- A sum over a user domain, parallel with a combine function; owned by a plain role.
      create aggregate "Ledger"."sum"("Ledger".money_eur) (
        sfunc = numeric_add, stype = numeric, initcond = '0', combinefunc = numeric_add,
        parallel = safe);
      alter aggregate "Ledger"."sum"("Ledger".money_eur) owner to "Ledger Owner";
      comment on aggregate "Ledger"."sum"("Ledger".money_eur) is 'Sum of euros, zero when none';
      revoke all on function "Ledger"."sum"("Ledger".money_eur) from public;
      grant execute on function "Ledger"."sum"("Ledger".money_eur) to report_reader;
      -- A composite state through a user function.
      create aggregate "Ledger"."Balance"(amount "Ledger".money_eur) (
        sfunc = "Ledger".pair_add, stype = "Ledger".pair, initcond = '(0,0)');
      -- string_agg-like, called with ORDER BY.
      create aggregate "Ledger".join_words(text, text) (
        sfunc = "Ledger".join_step, stype = text);
      -- A moving aggregate with an internal state, serialisable for parallel plans.
      create aggregate "Ledger".avg_eur("Ledger".money_eur) (
        sfunc = numeric_avg_accum, stype = internal, sspace = 128, finalfunc = numeric_avg,
        combinefunc = numeric_avg_combine, serialfunc = numeric_avg_serialize,
        deserialfunc = numeric_avg_deserialize, msfunc = numeric_avg_accum,
        minvfunc = numeric_accum_inv, mstype = internal, msspace = 128,
        mfinalfunc = numeric_avg, parallel = restricted);
      -- Every final-function option, moving ones included.
      create aggregate "Ledger"."Spread"(float8) (
        sfunc = float8_accum, stype = float8[], initcond = '{0,0,0}',
        finalfunc = "Ledger".spread_final, finalfunc_extra, finalfunc_modify = shareable,
        msfunc = float8_accum, minvfunc = "Ledger".float8_unaccum, mstype = float8[],
        msspace = 64, minitcond = '{0,0,0}', mfinalfunc = "Ledger".spread_final,
        mfinalfunc_extra, mfinalfunc_modify = read_write);
      create aggregate "Ledger".max_eur(numeric) (
        sfunc = numeric_larger, stype = numeric, sortop = >);
      create aggregate "Ledger".entries(*) (sfunc = int8inc, stype = int8, initcond = '0');
      revoke execute on function "Ledger".entries() from public;
      -- Ordered-set and hypothetical-set aggregates.
      create aggregate "Ledger".pick(float8 order by anyelement) (
        sfunc = ordered_set_transition, stype = internal, finalfunc = percentile_disc_final,
        finalfunc_extra, finalfunc_modify = read_write);
      create aggregate "Ledger".rank_of(variadic "any" order by variadic "any") (
        sfunc = ordered_set_transition_multi, stype = internal, finalfunc = rank_final,
        finalfunc_extra, hypothetical);
      grant all on function "Ledger".pick(float8, anyelement) to report_reader;

      create table "Ledger".entries (
        id int primary key, label text not null, amount "Ledger".money_eur not null);
      insert into "Ledger".entries values
        (1, 'rent', -950.00), (2, 'salary', 3200.00), (3, 'food', -210.40), (4, 'refund', 15.5);
      -- The view needs the aggregates first.
      create view "Ledger"."Monthly Totals" as
        select "Ledger"."sum"(amount) as total, "Ledger"."Balance"(amount) as balance,
          "Ledger".join_words(label, ', ' order by label) as labels,
          "Ledger".entries(*) as n, "Ledger".max_eur(amount) as largest,
          "Ledger"."Spread"(amount::float8) as spread,
          "Ledger".pick(0.5) within group (order by amount) as median,
          "Ledger".rank_of(0) within group (order by amount) as zero_rank
        from "Ledger".entries;
      create view "Ledger".running as
        select id, "Ledger".avg_eur(amount) over (order by id rows between 1 preceding
          and current row) as moving_avg
        from "Ledger".entries;
      grant select on "Ledger"."Monthly Totals" to report_reader;
    `;
    const trip = await assertRoundTrip(cluster, setup, { restoreTest: true });
    assert.deepEqual(trip.backup.manifest.warnings, []);
    const schema = await read(trip.source);
    assertNoWarningAbout(schema, /aggregate/i);
    const aggregates = sqlOf(schema, "AGGREGATE");
    assert.equal(aggregates.length, 9);
    assert.ok(aggregates.includes(
      'CREATE AGGREGATE "Ledger".pick(double precision ORDER BY anyelement) (\n' +
        "    SFUNC = ordered_set_transition,\n    STYPE = internal,\n" +
        "    FINALFUNC = percentile_disc_final,\n    FINALFUNC_EXTRA\n);",
    ));
    assert.ok(aggregates.some((s) => s.startsWith('CREATE AGGREGATE "Ledger".entries(*) (')));
  });
});

Deno.test("operators with commutators, negators and estimators restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}
      create schema "Ops";
      create function "Ops".ci_lt(a text, b text) returns boolean
        language sql immutable strict as $$ select lower(a) < lower(b) $$;
      create function "Ops".ci_gt(a text, b text) returns boolean
        language sql immutable strict as $$ select lower(a) > lower(b) $$;
      create function "Ops".ci_eq(a text, b text) returns boolean
        language sql immutable strict as $$ select lower(a) = lower(b) $$;
      create function "Ops".ci_ne(a text, b text) returns boolean
        language sql immutable strict as $$ select lower(a) <> lower(b) $$;
      create function "Ops".ci_eq(a int, b text) returns boolean
        language sql immutable strict as $$ select a::text = lower(b) $$;
      create function "Ops".ci_eq(a text, b int) returns boolean
        language sql immutable strict as $$ select lower(a) = b::text $$;
      create function "Ops".twice(v numeric) returns numeric
        language sql immutable strict as $$ select v * 2 $$;
      -- Each half of a pair names the other before it exists: the server makes a shell.
      create operator "Ops".~<~ (function = "Ops".ci_lt, leftarg = text, rightarg = text,
        commutator = operator("Ops".~>~), restrict = scalarltsel, join = scalarltjoinsel);
      create operator "Ops".~>~ (function = "Ops".ci_gt, leftarg = text, rightarg = text,
        commutator = operator("Ops".~<~), restrict = scalargtsel, join = scalargtjoinsel);
      create operator "Ops".~=~ (function = "Ops".ci_eq, leftarg = text, rightarg = text,
        commutator = operator("Ops".~=~), negator = operator("Ops".~<>~),
        restrict = eqsel, join = eqjoinsel, hashes, merges);
      create operator "Ops".~<>~ (function = "Ops".ci_ne, leftarg = text, rightarg = text,
        commutator = operator("Ops".~<>~), negator = operator("Ops".~=~),
        restrict = neqsel, join = neqjoinsel);
      -- Same name, other types; a cross-type commutator pair.
      create operator "Ops".~=~ (function = "Ops".ci_eq, leftarg = int, rightarg = text,
        commutator = operator("Ops".~=~));
      create operator "Ops".~=~ (function = "Ops".ci_eq, leftarg = text, rightarg = int,
        commutator = operator("Ops".~=~));
      -- A prefix operator owned by a plain role, and a leftover shell (never dumped).
      create operator "Ops".@@ (function = "Ops".twice, rightarg = numeric);
      alter operator "Ops".@@ (none, numeric) owner to "Ledger Owner";
      alter operator "Ops".~=~ (text, text) owner to "Ledger Owner";
      comment on operator "Ops".~=~ (text, text) is 'Equal, ignoring case';
      comment on operator "Ops".@@ (none, numeric) is 'Twice';
      create operator "Ops".<<>> (function = "Ops".ci_ne, leftarg = text, rightarg = text,
        negator = operator("Ops".>><<));
      drop operator "Ops".<<>> (text, text);

      -- A table whose check and a view that use them: the operators come first.
      create table "Ops".people (
        id int primary key,
        email text not null check (email operator("Ops".~<>~) ''),
        score numeric);
      insert into "Ops".people values (1, 'Ann@Example.com', 3), (2, 'bob@example.com', 1.5);
      create view "Ops"."Same Address" as
        select a.id as a, b.id as b, operator("Ops".@@) a.score as doubled
        from "Ops".people a join "Ops".people b
          on a.email operator("Ops".~=~) b.email and a.id operator("Ops".~=~) b.email is not true
        where a.email operator("Ops".~<~) 'z';
    `;
    const trip = await assertRoundTrip(cluster, setup, { restoreTest: true });
    assert.deepEqual(trip.backup.manifest.warnings, []);
    const schema = await read(trip.source);
    assertNoWarningAbout(schema, /operator/i);
    const operators = sqlOf(schema, "OPERATOR");
    assert.equal(operators.length, 7);
    assert.ok(operators.includes(
      'CREATE OPERATOR "Ops".~=~ (\n    FUNCTION = "Ops".ci_eq,\n    LEFTARG = text,\n' +
        '    RIGHTARG = text,\n    COMMUTATOR = OPERATOR("Ops".~=~),\n' +
        '    NEGATOR = OPERATOR("Ops".~<>~),\n    MERGES,\n    HASHES,\n' +
        "    RESTRICT = eqsel,\n    JOIN = eqjoinsel\n);",
    ));
  });
});

Deno.test("operator classes and families for btree, hash, gist and gin restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}
      create schema "Ops";
      create domain "Ops"."Email" as text check (value like '%@%');
      create function "Ops".ci_lt(a "Ops"."Email", b "Ops"."Email") returns boolean
        language sql immutable strict as $$ select lower(a) < lower(b) $$;
      create function "Ops".ci_le(a "Ops"."Email", b "Ops"."Email") returns boolean
        language sql immutable strict as $$ select lower(a) <= lower(b) $$;
      create function "Ops".ci_eq(a "Ops"."Email", b "Ops"."Email") returns boolean
        language sql immutable strict as $$ select lower(a) = lower(b) $$;
      create function "Ops".ci_ge(a "Ops"."Email", b "Ops"."Email") returns boolean
        language sql immutable strict as $$ select lower(a) >= lower(b) $$;
      create function "Ops".ci_gt(a "Ops"."Email", b "Ops"."Email") returns boolean
        language sql immutable strict as $$ select lower(a) > lower(b) $$;
      create function "Ops".ci_cmp(a "Ops"."Email", b "Ops"."Email") returns int
        language sql immutable strict as $$ select bttextcmp(lower(a), lower(b)) $$;
      create function "Ops".ci_hash(a "Ops"."Email") returns int
        language sql immutable strict as $$ select hashtext(lower(a)) $$;
      create function "Ops".ci_hash_extended(a "Ops"."Email", seed bigint) returns bigint
        language sql immutable strict as $$ select hashtextextended(lower(a), seed) $$;
      create operator "Ops".~<~ (function = "Ops".ci_lt,
        leftarg = "Ops"."Email", rightarg = "Ops"."Email");
      create operator "Ops".~<=~ (function = "Ops".ci_le,
        leftarg = "Ops"."Email", rightarg = "Ops"."Email");
      create operator "Ops".~=~ (function = "Ops".ci_eq, leftarg = "Ops"."Email",
        rightarg = "Ops"."Email", commutator = operator("Ops".~=~), hashes, merges);
      create operator "Ops".~>=~ (function = "Ops".ci_ge,
        leftarg = "Ops"."Email", rightarg = "Ops"."Email");
      create operator "Ops".~>~ (function = "Ops".ci_gt,
        leftarg = "Ops"."Email", rightarg = "Ops"."Email");

      -- A case-insensitive btree class (its family made with it), and a loose member.
      create operator class "Ops"."Email CI" default for type "Ops"."Email" using btree as
        operator 1 "Ops".~<~, operator 2 "Ops".~<=~, operator 3 "Ops".~=~,
        operator 4 "Ops".~>=~, operator 5 "Ops".~>~,
        function 1 "Ops".ci_cmp("Ops"."Email", "Ops"."Email");
      alter operator family "Ops"."Email CI" using btree add
        function 4 ("Ops"."Email", "Ops"."Email") btequalimage(oid);
      alter operator class "Ops"."Email CI" using btree owner to "Ledger Owner";
      comment on operator class "Ops"."Email CI" using btree is 'Emails, case aside';
      comment on operator family "Ops"."Email CI" using btree is 'Made by its class';
      -- A hash class in a family of its own, another member added to the family.
      create operator family "Ops".email_hash using hash;
      create operator class "Ops".email_hash_ops for type "Ops"."Email"
        using hash family "Ops".email_hash as
        operator 1 "Ops".~=~, function 1 "Ops".ci_hash("Ops"."Email");
      alter operator family "Ops".email_hash using hash add
        function 2 "Ops".ci_hash_extended("Ops"."Email", bigint);
      alter operator family "Ops".email_hash using hash owner to "Ledger Owner";
      -- A family of loose cross-type members only.
      create operator family "Ops".loose using btree;
      alter operator family "Ops".loose using btree add
        operator 1 <(int4, int8), operator 3 =(int4, int8),
        function 1 (int4, int8) btint48cmp(int4, int8);
      comment on operator family "Ops".loose using btree is 'Loose members';
      -- A gist class with an ordering operator, a gin class with STORAGE.
      create operator class "Ops".point_knn for type point using gist as
        storage box,
        operator 1 <<(point, point), operator 5 >>(point, point), operator 6 ~=(point, point),
        operator 15 <->(point, point) for order by pg_catalog.float_ops,
        operator 28 <@(point, box),
        function 1 gist_point_consistent(internal, point, smallint, oid, internal),
        function 2 gist_box_union(internal, internal),
        function 3 gist_point_compress(internal),
        function 5 gist_box_penalty(internal, internal, internal),
        function 6 gist_box_picksplit(internal, internal),
        function 7 gist_box_same(box, box, internal),
        function 8 gist_point_distance(internal, point, smallint, oid, internal),
        function 9 gist_point_fetch(internal);
      create operator class "Ops".int_gin for type int4[] using gin as
        operator 1 &&(anyarray, anyarray), operator 2 @>(anyarray, anyarray),
        operator 3 <@(anyarray, anyarray), operator 4 =(anyarray, anyarray),
        function 1 btint4cmp(int4, int4),
        function 2 ginarrayextract(anyarray, internal, internal),
        function 3 ginqueryarrayextract(anyarray, internal, smallint, internal, internal,
          internal, internal),
        function 4 ginarrayconsistent(internal, smallint, anyarray, integer, internal,
          internal, internal, internal),
        function 6 ginarraytriconsistent(internal, smallint, anyarray, integer, internal,
          internal, internal),
        storage int4;

      create table "Ops".people (
        id int primary key, email "Ops"."Email" not null, home point, tags int4[]);
      insert into "Ops".people values
        (1, 'Ann@Example.com', '(1,2)', '{1,2}'), (2, 'bob@example.com', '(5,5)', '{3}'),
        (3, 'carol@example.org', null, '{}');
      -- The indexes need the classes.
      create unique index "people email, any case" on "Ops".people (email "Ops"."Email CI");
      create index people_email_hash on "Ops".people using hash (email "Ops".email_hash_ops);
      create index people_home on "Ops".people using gist (home "Ops".point_knn);
      create index people_tags on "Ops".people using gin (tags "Ops".int_gin);
    `;
    const trip = await assertRoundTrip(cluster, setup, { restoreTest: true });
    assert.deepEqual(trip.backup.manifest.warnings, []);
    const schema = await read(trip.source);
    assertNoWarningAbout(schema, /operator/i);
    assert.equal(sqlOf(schema, "OPERATOR CLASS").length, 4);
    const families = sqlOf(schema, "OPERATOR FAMILY");
    assert.ok(families.includes('CREATE OPERATOR FAMILY "Ops".loose USING btree;'));
    assert.ok(families.includes(
      'ALTER OPERATOR FAMILY "Ops".loose USING btree ADD\n' +
        "    OPERATOR 1 <(integer,bigint) ,\n    OPERATOR 3 =(integer,bigint) ,\n" +
        "    FUNCTION 1 (integer, bigint) btint48cmp(integer,bigint);",
    ));
    // GiST keeps the operators of a class loose in its family, as pg_dump then shows them.
    assert.ok(
      families.some((s) =>
        s.includes("OPERATOR 15 <->(point,point) FOR ORDER BY pg_catalog.float_ops")
      ),
    );
  });
});

Deno.test("base types, with a shell before their I/O functions, restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}
      create schema "Typ";
      -- A varchar-like code: typmods, binary I/O, collatable, a default and a delimiter.
      create type "Typ"."Code";
      create function "Typ".code_in(cstring, oid, integer) returns "Typ"."Code"
        language internal immutable strict parallel safe as 'varcharin';
      create function "Typ".code_out("Typ"."Code") returns cstring
        language internal immutable strict parallel safe as 'varcharout';
      create function "Typ".code_recv(internal, oid, integer) returns "Typ"."Code"
        language internal stable strict parallel safe as 'varcharrecv';
      create function "Typ".code_send("Typ"."Code") returns bytea
        language internal stable strict parallel safe as 'varcharsend';
      create function "Typ".code_typmod_in(cstring[]) returns integer
        language internal immutable strict parallel safe as 'varchartypmodin';
      create function "Typ".code_typmod_out(integer) returns cstring
        language internal immutable strict parallel safe as 'varchartypmodout';
      create type "Typ"."Code" (
        input = "Typ".code_in, output = "Typ".code_out,
        receive = "Typ".code_recv, send = "Typ".code_send,
        typmod_in = "Typ".code_typmod_in, typmod_out = "Typ".code_typmod_out,
        internallength = variable, storage = main, category = 'S', collatable = true,
        default = 'none', delimiter = ';');
      alter type "Typ"."Code" owner to "Ledger Owner";
      comment on type "Typ"."Code" is 'A product code';
      revoke usage on type "Typ"."Code" from public;
      grant usage on type "Typ"."Code" to report_reader;
      -- A fixed-length point-like pair: subscripting, an element type, an analyze function.
      create type "Typ".vec2;
      create function "Typ".vec2_in(cstring) returns "Typ".vec2
        language internal immutable strict as 'point_in';
      create function "Typ".vec2_out("Typ".vec2) returns cstring
        language internal immutable strict as 'point_out';
      create function "Typ".vec2_analyze(internal) returns boolean
        language internal strict as 'array_typanalyze';
      create type "Typ".vec2 (
        input = "Typ".vec2_in, output = "Typ".vec2_out, analyze = "Typ".vec2_analyze,
        internallength = 16, alignment = double, element = float8,
        subscript = raw_array_subscript_handler, category = 'G', preferred = true);
      -- An int-like type passed by value.
      create type "Typ".ticket;
      create function "Typ".ticket_in(cstring) returns "Typ".ticket
        language internal immutable strict as 'int4in';
      create function "Typ".ticket_out("Typ".ticket) returns cstring
        language internal immutable strict as 'int4out';
      create type "Typ".ticket (input = "Typ".ticket_in, output = "Typ".ticket_out,
        internallength = 4, passedbyvalue, alignment = int4, storage = plain);
      -- A shell never completed.
      create type "Typ"."Later";
      comment on type "Typ"."Later" is 'Not defined yet';

      create table "Typ".items (
        id int primary key, code "Typ"."Code"(12) collate "C", pos "Typ".vec2,
        ticket "Typ".ticket, codes "Typ"."Code"[]);
      insert into "Typ".items values
        (1, 'AB-12', '(1.5,2)', '7', '{X1;Y2}'), (2, 'Zz-9', '(0,-3)', '42', null);
      create view "Typ".item_x as select id, pos[0] as x, code from "Typ".items;
    `;
    const trip = await assertRoundTrip(cluster, setup, { restoreTest: true });
    assert.deepEqual(trip.backup.manifest.warnings, []);
    const schema = await read(trip.source);
    assertNoWarningAbout(schema, /type/i);
    assert.deepEqual(
      sqlOf(schema, "SHELL TYPE").sort(),
      ['CREATE TYPE "Typ"."Code";', 'CREATE TYPE "Typ".ticket;', 'CREATE TYPE "Typ".vec2;'],
    );
    const names = schema.statements.map((s) => `${s.kind} ${s.name}`);
    const shell = names.indexOf("SHELL TYPE Code");
    assert.ok(shell >= 0 && shell < names.indexOf("FUNCTION code_in(cstring, oid, integer)"));
    assert.ok(names.indexOf('FUNCTION code_out("Typ"."Code")') < names.indexOf("TYPE Code"));
    assert.ok(sqlOf(schema, "TYPE").includes('CREATE TYPE "Typ"."Later";'));
  });
});

Deno.test("statistics targets of index columns restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `
      create schema "Idx";
      create table "Idx".orders (id int primary key, customer text not null, total numeric);
      insert into "Idx".orders select g, 'customer ' || g % 7, g * 1.5
        from generate_series(1, 50) g;
      create index "Orders by customer" on "Idx".orders ((lower(customer)), id, (total * 2));
      alter index "Idx"."Orders by customer" alter column 1 set statistics 500;
      alter index "Idx"."Orders by customer" alter column 3 set statistics 0;
      comment on index "Idx"."Orders by customer" is 'Lookups by customer';
      create table "Idx".parted (id int, at date not null) partition by range (at);
      create table "Idx".parted_2024 partition of "Idx".parted
        for values from ('2024-01-01') to ('2025-01-01');
      insert into "Idx".parted values (1, '2024-03-01');
      create index parted_year on "Idx".parted ((extract(year from at)));
      alter index "Idx".parted_year alter column 1 set statistics 250;
    `;
    const trip = await assertRoundTrip(cluster, setup, { restoreTest: true });
    assert.deepEqual(trip.backup.manifest.warnings, []);
    const schema = await read(trip.source);
    assert.deepEqual(sqlOf(schema, "INDEX STATISTICS"), [
      'ALTER INDEX "Idx"."Orders by customer" ALTER COLUMN 1 SET STATISTICS 500;',
      'ALTER INDEX "Idx"."Orders by customer" ALTER COLUMN 3 SET STATISTICS 0;',
      // The partition's index got the target from its parent's ALTER INDEX.
      'ALTER INDEX "Idx".parted_2024_extract_idx ALTER COLUMN 1 SET STATISTICS 250;',
      'ALTER INDEX "Idx".parted_year ALTER COLUMN 1 SET STATISTICS 250;',
    ]);
  });
});
