/**
 * Collations, text search parsers, templates, dictionaries and configurations, conversions
 * and casts: each backed up, restored into a fresh database and exported as a script run by
 * psql, and compared with pg_dump (see `assertRoundTrip`); and none of them is reported as
 * not dumped any more.
 */
import assert from "node:assert/strict";
import type { DatabaseSchema, DumpScope } from "../../../shared/database/catalog/mod.ts";
import {
  assertRoundTrip,
  type OracleCluster,
  queryRows,
  readSchemaAt,
  withOracleCluster,
} from "../../support/pg_oracle.ts";

const read = (url: string, scope: DumpScope = {}) => readSchemaAt(url, { scope });

const query = queryRows;

/** The statements of one kind, as SQL. */
function statementsOf(schema: DatabaseSchema, kind: string): string[] {
  return schema.statements.filter((s) => s.kind === kind).map((s) => s.sql);
}

/** No warning names the kind (in any case): the reader dumps it now. */
function assertNoWarningAbout(schema: DatabaseSchema, ...words: string[]): void {
  for (const warning of schema.warnings) {
    for (const word of words) {
      assert.ok(
        !warning.toLowerCase().includes(word.toLowerCase()),
        `unexpected warning: ${warning}`,
      );
    }
  }
}

/** The round trip, then the reader's own view of the source, which must not warn of `kinds`. */
async function roundTrip(
  cluster: OracleCluster,
  setup: string,
  ...kinds: string[]
): Promise<{ schema: DatabaseSchema; source: string; restored: string }> {
  const { source, restored } = await assertRoundTrip(cluster, setup);
  const schema = await read(source);
  assertNoWarningAbout(schema, ...kinds);
  return { schema, source, restored };
}

const ROLES = `
  do $$ begin
    if not exists (select from pg_roles where rolname = 'text_owner') then
      create role text_owner;
    end if;
  end $$;
`;

Deno.test("collations, libc and ICU, nondeterministic ones on columns and indexes, restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}
      create collation public.fr_ci_ai (provider = icu, locale = 'fr-u-ks-level1',
        deterministic = false);
      comment on collation public.fr_ci_ai is 'French, case- and accent-insensitive';
      create collation public."De Phonebook" (provider = icu, locale = 'de-u-co-phonebk');
      create collation public.c_utf8 (provider = libc, locale = 'C.UTF-8');
      alter collation public.c_utf8 owner to text_owner;
      create collation public.mixed (provider = libc, lc_collate = 'C', lc_ctype = 'C.UTF-8');
      create schema "Sorting";
      create collation "Sorting"."ordre numérique" (provider = icu, locale = 'fr-u-kn-true');
      create domain public.label as text collate public.c_utf8;
      create table public.people (
        name text collate public.fr_ci_ai primary key,
        nickname text collate "Sorting"."ordre numérique",
        tag public.label
      );
      create index people_nickname on public.people (nickname collate "De Phonebook");
      create index people_name_ci on public.people (name);
      insert into public.people values ('Anaïs', 'a10', 'x'), ('Élodie', 'a9', 'y'),
        ('Zoé', 'b2', null);
    `;
    const { schema, restored } = await roundTrip(cluster, setup, "collation");
    const collations = statementsOf(schema, "COLLATION");
    assert.ok(
      collations.includes(
        "CREATE COLLATION public.fr_ci_ai (provider = icu, deterministic = false, " +
          "locale = 'fr-u-ks-level1');",
      ),
      collations.join("\n"),
    );
    assert.ok(collations.includes(
      "CREATE COLLATION public.mixed (provider = libc, lc_collate = 'C', lc_ctype = 'C.UTF-8');",
    ));
    // The collation is created before the domain and the table that use it.
    const at = (kind: string, name: string) =>
      schema.statements.findIndex((s) => s.kind === kind && s.name === name);
    assert.ok(at("COLLATION", "fr_ci_ai") < at("TABLE", "people"));
    assert.ok(at("COLLATION", "c_utf8") < at("DOMAIN", "label"));
    // Accent- and case-insensitive equality holds in the restored copy too.
    const [row] = await query<{ name: string }>(
      restored,
      "select name from public.people where name = 'ELODIE'",
    );
    assert.equal(row?.name, "Élodie");
  });
});

const UNACCENT = `${ROLES}
  create extension unaccent;
  create text search configuration public.fr_unaccent (copy = french);
  alter text search configuration public.fr_unaccent
    alter mapping for hword, hword_part, word with unaccent, french_stem;
  alter text search configuration public.fr_unaccent owner to text_owner;
  comment on text search configuration public.fr_unaccent is 'French, accents ignored';
  create table public.articles (
    id bigint generated always as identity primary key,
    title text not null,
    body text not null,
    search tsvector generated always as (
      to_tsvector('public.fr_unaccent', title || ' ' || body)) stored
  );
  create index articles_search on public.articles using gin (search);
  insert into public.articles (title, body) values
    ('Les éléphants', 'Ils mangent des légumes à la crème'),
    ('Église', 'Une très vieille église romane');
`;

Deno.test("a text search configuration with unaccent, behind a generated column, restores like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const { schema, restored } = await roundTrip(cluster, UNACCENT, "text search configuration");
    const [config] = statementsOf(schema, "TEXT SEARCH CONFIGURATION");
    assert.ok(
      config.startsWith(
        "CREATE TEXT SEARCH CONFIGURATION public.fr_unaccent (\n" +
          '    PARSER = pg_catalog."default" );',
      ),
      config,
    );
    assert.ok(
      config.includes(
        "ALTER TEXT SEARCH CONFIGURATION public.fr_unaccent\n" +
          "    ADD MAPPING FOR hword WITH public.unaccent, french_stem;",
      ),
      config,
    );
    assert.ok(config.includes('    ADD MAPPING FOR "int" WITH simple;'), config);
    // The extension's dictionary first, then the configuration, then the table using it.
    const at = (kind: string) => schema.statements.findIndex((s) => s.kind === kind);
    assert.ok(at("EXTENSION") < at("TEXT SEARCH CONFIGURATION"));
    assert.ok(at("TEXT SEARCH CONFIGURATION") < at("TABLE"));
    // The restored copy finds an article without its accents.
    const found = await query<{ title: string }>(
      restored,
      `select title from public.articles
       where search @@ to_tsquery('public.fr_unaccent', 'eglise') order by id`,
    );
    assert.deepEqual(found.map((r) => r.title), ["Église"]);
  });
});

Deno.test("text search dictionaries with options, Debian's sample files and owners restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}
      create schema search;
      create text search dictionary search.french_stop (
        template = pg_catalog.simple, stopwords = french, accept = false);
      comment on text search dictionary search.french_stop is 'French stop words';
      create text search dictionary search.synonyms (
        template = synonym, synonyms = synonym_sample, casesensitive = true);
      alter text search dictionary search.synonyms owner to text_owner;
      create text search dictionary search."Ispell Sample" (
        template = ispell, dictfile = ispell_sample, afffile = ispell_sample,
        stopwords = english);
      create text search dictionary search.thesaurus (
        template = thesaurus, dictfile = thesaurus_sample, dictionary = pg_catalog.english_stem);
      -- A template that belongs to an extension: the extension comes first.
      create extension dict_xsyn;
      create text search dictionary search.xsyn (
        template = public.xsyn_template, rules = xsyn_sample, keeporig = false);
      create text search configuration search.fr (parser = default);
      alter text search configuration search.fr
        add mapping for asciiword, word with search.synonyms, search."Ispell Sample",
          search.french_stop;
      alter text search configuration search.fr
        add mapping for asciihword with search.thesaurus, english_stem;
      alter text search configuration search.fr add mapping for email with search.xsyn;
      create table search.notes (
        id int primary key,
        body text,
        terms tsvector generated always as (to_tsvector('search.fr', body)) stored
      );
      insert into search.notes (id, body) values (1, 'the booking of a skies'), (2, 'le chat');
    `;
    const { schema } = await roundTrip(cluster, setup, "text search dictionary");
    const dictionaries = statementsOf(schema, "TEXT SEARCH DICTIONARY");
    assert.ok(
      dictionaries.includes(
        "CREATE TEXT SEARCH DICTIONARY search.french_stop (\n" +
          "    TEMPLATE = pg_catalog.simple,\n    stopwords = 'french', accept = 'false' );",
      ),
      dictionaries.join("\n"),
    );
    const at = (kind: string, name: string) =>
      schema.statements.findIndex((s) => s.kind === kind && s.name === name);
    assert.ok(at("TEXT SEARCH DICTIONARY", "synonyms") < at("TEXT SEARCH CONFIGURATION", "fr"));
    assert.ok(at("EXTENSION", "dict_xsyn") < at("TEXT SEARCH DICTIONARY", "xsyn"));
  });
});

Deno.test("text search parsers built from the default parser's functions restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `
      create schema parsing;
      create text search parser parsing.words (
        start = prsd_start, gettoken = prsd_nexttoken, end = prsd_end,
        lextypes = prsd_lextype, headline = prsd_headline);
      comment on text search parser parsing.words is 'the default parser, again';
      create text search parser parsing."No Headline" (
        start = prsd_start, gettoken = prsd_nexttoken, end = prsd_end, lextypes = prsd_lextype);
      create text search configuration parsing.plain (parser = parsing.words);
      alter text search configuration parsing.plain
        add mapping for asciiword, word with simple;
      create text search configuration parsing.bare (parser = parsing."No Headline");
    `;
    const { schema } = await roundTrip(cluster, setup, "text search parser");
    const parsers = statementsOf(schema, "TEXT SEARCH PARSER");
    assert.ok(
      parsers.includes(
        "CREATE TEXT SEARCH PARSER parsing.words (\n    START = prsd_start,\n" +
          "    GETTOKEN = prsd_nexttoken,\n    END = prsd_end,\n    HEADLINE = prsd_headline,\n" +
          "    LEXTYPES = prsd_lextype );",
      ),
      parsers.join("\n"),
    );
    const at = (kind: string, name: string) =>
      schema.statements.findIndex((s) => s.kind === kind && s.name === name);
    assert.ok(at("TEXT SEARCH PARSER", "words") < at("TEXT SEARCH CONFIGURATION", "plain"));
  });
});

Deno.test("text search templates built from the simple dictionary's functions restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}
      create text search template public.simple_again (
        init = dsimple_init, lexize = dsimple_lexize);
      comment on text search template public.simple_again is 'the simple template, again';
      create text search template public.lexize_only (lexize = dsimple_lexize);
      create text search dictionary public.again (
        template = public.simple_again, stopwords = english);
      alter text search dictionary public.again owner to text_owner;
    `;
    const { schema } = await roundTrip(cluster, setup, "text search template");
    assert.deepEqual(statementsOf(schema, "TEXT SEARCH TEMPLATE"), [
      "CREATE TEXT SEARCH TEMPLATE public.lexize_only (\n    LEXIZE = dsimple_lexize );",
      "CREATE TEXT SEARCH TEMPLATE public.simple_again (\n    INIT = dsimple_init,\n" +
      "    LEXIZE = dsimple_lexize );",
    ]);
    const at = (kind: string) => schema.statements.findIndex((s) => s.kind === kind);
    assert.ok(at("TEXT SEARCH TEMPLATE") < at("TEXT SEARCH DICTIONARY"));
  });
});

Deno.test("conversions, default or not, with owners and comments, restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}
      create conversion public.latin1_to_utf8 for 'LATIN1' to 'UTF8' from iso8859_1_to_utf8;
      comment on conversion public.latin1_to_utf8 is 'Latin-1 in';
      create schema legacy;
      create default conversion legacy."Win1252 In" for 'WIN1252' to 'UTF8' from win_to_utf8;
      alter conversion legacy."Win1252 In" owner to text_owner;
    `;
    const { schema } = await roundTrip(cluster, setup, "conversion");
    assert.deepEqual(statementsOf(schema, "CONVERSION"), [
      `CREATE DEFAULT CONVERSION legacy."Win1252 In" FOR 'WIN1252' TO 'UTF8' FROM win_to_utf8;`,
      "CREATE CONVERSION public.latin1_to_utf8 FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;",
    ]);
  });
});

const CASTS = `
  create extension citext;
  create type public.money_eur as (amount numeric(12, 2));
  create function public.to_eur(numeric) returns public.money_eur
    language sql immutable strict return row($1::numeric(12, 2))::public.money_eur;
  create function public.eur_amount(public.money_eur) returns numeric
    language sql immutable strict as $$ select ($1).amount $$;
  create cast (numeric as public.money_eur) with function public.to_eur(numeric) as assignment;
  create cast (public.money_eur as numeric) with function public.eur_amount(public.money_eur)
    as implicit;
  comment on cast (numeric as public.money_eur) is 'amounts in euros';
  create type public.priority as enum ('low', 'normal', 'high');
  create cast (text as public.priority) with inout as assignment;
  create cast (xid as integer) without function;
  comment on cast (xid as integer) is 'raw transaction ids';
  -- A range type's own cast to its multirange comes back with the type.
  create type public.eur_range as range (subtype = numeric);
  create table public.prices (id int primary key, price numeric, level public.priority,
    band public.eur_range);
  insert into public.prices values (1, 12.5, 'low', '[10,20)'), (2, 3, 'high', null);
  create view public.prices_eur as
    select id, price::public.money_eur as eur, (price::public.money_eur)::numeric as back
    from public.prices;
`;

Deno.test("casts with and without functions, through I/O, assignment and implicit, restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const { schema, source } = await roundTrip(cluster, CASTS, "cast");
    assert.deepEqual(statementsOf(schema, "CAST").sort(), [
      "CREATE CAST (numeric AS public.money_eur) WITH FUNCTION public.to_eur(numeric) " +
      "AS ASSIGNMENT;",
      "CREATE CAST (public.money_eur AS numeric) WITH FUNCTION " +
      "public.eur_amount(public.money_eur) AS IMPLICIT;",
      "CREATE CAST (text AS public.priority) WITH INOUT AS ASSIGNMENT;",
      "CREATE CAST (xid AS integer) WITHOUT FUNCTION;",
    ]);
    // After its function, before the view that spells it; citext's own casts stay its own.
    const at = (kind: string, name: string) =>
      schema.statements.findIndex((s) => s.kind === kind && s.name === name);
    const cast = at("CAST", "(numeric AS public.money_eur)");
    assert.ok(at("FUNCTION", "to_eur(numeric)") < cast);
    assert.ok(cast < at("VIEW", "prices_eur"));
    assert.ok(!schema.statements.some((s) => s.kind === "CAST" && s.sql.includes("citext")));
    // Narrowed to some schemas, casts are left out, as pg_dump --schema leaves them.
    const narrowed = await read(source, { includeSchemas: ["public"] });
    assert.deepEqual(statementsOf(narrowed, "CAST"), []);
    const excluding = await read(source, { excludeSchemas: ["nothing"] });
    assert.equal(statementsOf(excluding, "CAST").length, 4);
  });
});
