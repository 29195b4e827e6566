/**
 * The SQL the catalog reader writes for collations, text search objects, conversions and
 * casts, from catalog rows (the round trips against pg_dump are in
 * `tests/integration/database/kinds_text_test.ts`).
 */
import assert from "node:assert/strict";
import { castSql } from "../../../shared/database/catalog/casts.ts";
import { type CollationRow, collationSql } from "../../../shared/database/catalog/collations.ts";
import { conversionSql } from "../../../shared/database/catalog/conversions.ts";
import { makeQuoter } from "../../../shared/database/catalog/quote.ts";
import {
  configurationSql,
  dictionarySql,
  templateSql,
} from "../../../shared/database/catalog/text_search.ts";

const quoter = makeQuoter(["int", "float", "select"]);

const collation: CollationRow = {
  oid: "16400",
  schema: "public",
  name: "fr_ci_ai",
  owner: "postgres",
  provider: "i",
  deterministic: false,
  collate: null,
  ctype: null,
  locale: "fr-u-ks-level1",
  rules: null,
  comment: null,
};

Deno.test("a collation of a provider CREATE COLLATION does not take is not written", () => {
  assert.equal(collationSql({ ...collation, provider: "d" }, quoter), null);
  assert.equal(
    collationSql({ ...collation, provider: "c", locale: null, collate: null }, quoter),
    null,
  );
});

Deno.test("collations are written with pg_dump's options, in its order", () => {
  assert.equal(
    collationSql(collation, quoter),
    "CREATE COLLATION public.fr_ci_ai (provider = icu, deterministic = false, " +
      "locale = 'fr-u-ks-level1');",
  );
  assert.equal(
    collationSql({
      ...collation,
      name: "Tailored",
      deterministic: true,
      locale: "und",
      rules: "&a < b",
    }, quoter),
    `CREATE COLLATION public."Tailored" (provider = icu, locale = 'und', rules = '&a < b');`,
  );
  const libc = { ...collation, provider: "c", deterministic: true, locale: null };
  assert.equal(
    collationSql({ ...libc, collate: "fr_FR.utf8", ctype: "fr_FR.utf8" }, quoter),
    "CREATE COLLATION public.fr_ci_ai (provider = libc, locale = 'fr_FR.utf8');",
  );
  assert.equal(
    collationSql({ ...libc, collate: "C", ctype: "it's" }, quoter),
    "CREATE COLLATION public.fr_ci_ai (provider = libc, lc_collate = 'C', lc_ctype = 'it''s');",
  );
  assert.equal(
    collationSql({ ...collation, provider: "b", deterministic: true, locale: "C.UTF-8" }, quoter),
    "CREATE COLLATION public.fr_ci_ai (provider = builtin, locale = 'C.UTF-8');",
  );
});

Deno.test("a configuration maps each token type once, its dictionaries in order", () => {
  const sql = configurationSql({
    oid: "16500",
    schema: "public",
    name: "fr",
    owner: "postgres",
    comment: null,
    parserSchema: "pg_catalog",
    parserName: "default",
    mappings: [
      { token: "word", dictionary: "public.unaccent" },
      { token: "word", dictionary: "french_stem" },
      { token: "int", dictionary: "simple" },
    ],
  }, makeQuoter(["int", "default"]));
  assert.equal(
    sql,
    'CREATE TEXT SEARCH CONFIGURATION public.fr (\n    PARSER = pg_catalog."default" );\n\n' +
      "ALTER TEXT SEARCH CONFIGURATION public.fr\n" +
      "    ADD MAPPING FOR word WITH public.unaccent, french_stem;\n\n" +
      "ALTER TEXT SEARCH CONFIGURATION public.fr\n" +
      '    ADD MAPPING FOR "int" WITH simple;',
  );
});

Deno.test("dictionaries, templates and conversions are written like pg_dump's", () => {
  const named = { oid: "1", schema: "public", comment: null };
  assert.equal(
    dictionarySql({
      ...named,
      name: "stop",
      owner: "postgres",
      templateSchema: "pg_catalog",
      templateName: "simple",
      options: null,
    }, quoter),
    "CREATE TEXT SEARCH DICTIONARY public.stop (\n    TEMPLATE = pg_catalog.simple );",
  );
  assert.equal(
    templateSql({ ...named, name: "t", init: null, lexize: "dsimple_lexize" }, quoter),
    "CREATE TEXT SEARCH TEMPLATE public.t (\n    LEXIZE = dsimple_lexize );",
  );
  assert.equal(
    conversionSql({
      ...named,
      name: "Latin",
      owner: "postgres",
      from: "LATIN1",
      to: "UTF8",
      function: "iso8859_1_to_utf8",
      isDefault: true,
    }, quoter),
    `CREATE DEFAULT CONVERSION public."Latin" FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;`,
  );
});

Deno.test("a cast with an unknown method or context is not written", () => {
  const cast = {
    oid: "16600",
    source: "text",
    target: "public.mood",
    method: "i",
    context: "e",
    function: null,
    comment: null,
  };
  assert.equal(castSql(cast), "CREATE CAST (text AS public.mood) WITH INOUT;");
  assert.equal(castSql({ ...cast, method: "f" }), null);
  assert.equal(castSql({ ...cast, method: "?" }), null);
  assert.equal(castSql({ ...cast, context: "?" }), null);
});
