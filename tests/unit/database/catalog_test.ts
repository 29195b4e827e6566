/**
 * The catalog reader's pure parts: aclitem parsing and GRANT/REVOKE generation, identifier
 * quoting, restore ordering, script rendering.
 */
import assert from "node:assert/strict";
import { aclStatements, parseAclItem } from "../../../shared/database/catalog/acl.ts";
import { DumpGraph, PRIORITY } from "../../../shared/database/catalog/graph.ts";
import { renderScript } from "../../../shared/database/catalog/mod.ts";
import { orderGraph } from "../../../shared/database/catalog/order.ts";
import { planTableBuilds } from "../../../shared/database/restore/ddl.ts";
import { dollarQuote, makeQuoter, quoteLiteral } from "../../../shared/database/catalog/quote.ts";
import { withOptions } from "../../../shared/database/catalog/relations.ts";

const quoter = makeQuoter(["select", "user", "order", "table"]);

Deno.test("a malformed aclitem is rejected", () => {
  assert.throws(() => parseAclItem("no-equals-sign"), /Malformed aclitem/);
  assert.throws(() => parseAclItem("a=r"), /Malformed aclitem/);
  assert.throws(() => parseAclItem('"open=r/x'), /Unterminated quoted name/);
});

Deno.test("aclitems with PUBLIC and quoted role names parse", () => {
  assert.deepEqual(parseAclItem("=U/postgres"), {
    grantee: "",
    grantor: "postgres",
    privileges: "U",
  });
  assert.deepEqual(parseAclItem('"Weird ""Role"" =/x"=r*w/"Own er"'), {
    grantee: 'Weird "Role" =/x',
    grantor: "Own er",
    privileges: "r*w",
  });
});

Deno.test("privileges equal to the defaults produce no statements", () => {
  const base = ["postgres=arwdDxt/postgres"];
  assert.deepEqual(
    aclStatements(base, base, {
      target: { type: "TABLE", name: "s.t", owner: "postgres" },
      quoter,
    }),
    [],
  );
  assert.deepEqual(
    aclStatements(null, base, {
      target: { type: "TABLE", name: "s.t", owner: "postgres" },
      quoter,
    }),
    [],
  );
});

Deno.test("revoked defaults, grant options and grants by another role are reproduced", () => {
  const statements = aclStatements(
    ["postgres=X/postgres", "reader=X*/postgres", "user=X/reader"],
    ["=X/postgres", "postgres=X/postgres"],
    { target: { type: "FUNCTION", name: "s.f(integer)", owner: "postgres" }, quoter },
  );
  assert.deepEqual(statements, [
    "REVOKE ALL ON FUNCTION s.f(integer) FROM PUBLIC;",
    "GRANT ALL ON FUNCTION s.f(integer) TO reader WITH GRANT OPTION;",
    'SET SESSION AUTHORIZATION reader;\nGRANT ALL ON FUNCTION s.f(integer) TO "user";\n' +
    "RESET SESSION AUTHORIZATION;",
  ]);
});

Deno.test("column privileges name the column and list privileges in pg_dump's order", () => {
  const statements = aclStatements(["app=war/postgres"], null, {
    target: { type: "TABLE", name: "s.t", owner: "postgres", column: '"select"' },
    quoter,
  });
  assert.deepEqual(statements, [
    'GRANT SELECT("select"),INSERT("select"),UPDATE("select") ON TABLE s.t TO app;',
  ]);
});

Deno.test("default privileges are written as ALTER DEFAULT PRIVILEGES", () => {
  const statements = aclStatements(["reader=r/owner"], [], {
    target: { type: "TABLE", name: "", owner: "owner" },
    quoter,
    defaults: { objects: "TABLES", schema: "Shop" },
  });
  assert.deepEqual(statements, [
    'ALTER DEFAULT PRIVILEGES FOR ROLE owner IN SCHEMA "Shop" GRANT SELECT ON TABLES TO reader;',
  ]);
});

Deno.test("identifiers are quoted like quote_ident and literals are escaped", () => {
  assert.equal(quoter.ident("orders"), "orders");
  assert.equal(quoter.ident("select"), '"select"');
  assert.equal(quoter.ident("Order Items"), '"Order Items"');
  assert.equal(quoter.ident("prodüct"), '"prodüct"');
  assert.equal(quoter.ident('a"b'), '"a""b"');
  assert.equal(quoter.ident("_x$1"), "_x$1");
  assert.equal(quoter.ident("1abc"), '"1abc"');
  assert.equal(quoter.qualified("shop", "user"), 'shop."user"');
  assert.equal(quoteLiteral("it's"), "'it''s'");
  assert.equal(dollarQuote("a $$ b"), "$q$a $$ b$q$");
  assert.equal(
    withOptions(["fillfactor=70", "check_option=local"]),
    "WITH (fillfactor='70', check_option='local')",
  );
  assert.equal(withOptions(null), "");
});

function node(graph: DumpGraph, id: string, options: {
  section?: "pre-data" | "post-data";
  priority?: number;
  deps?: string[];
}) {
  return graph.add({
    id,
    section: options.section ?? "pre-data",
    kind: "X",
    schema: "s",
    name: id,
    sql: `-- ${id}`,
    priority: options.priority ?? PRIORITY.table,
    deps: options.deps,
  });
}

Deno.test("a dependency cycle is broken with a warning instead of hanging", () => {
  const graph = new DumpGraph();
  node(graph, "a", { deps: ["b"] });
  node(graph, "b", { deps: ["a"] });
  node(graph, "c", {});
  const ordered = orderGraph(graph);
  assert.deepEqual(ordered.statements.map((s) => s.name), ["c", "a", "b"]);
  assert.equal(ordered.warnings.length, 1);
  assert.match(ordered.warnings[0], /Dependency cycle broken at X s\.a/);
});

Deno.test("a pre-data object that needs a post-data one pulls it into pre-data", () => {
  const graph = new DumpGraph();
  node(graph, "table", {});
  node(graph, "pkey", { section: "post-data", priority: PRIORITY.constraint, deps: ["table"] });
  node(graph, "view", { deps: ["pkey"] });
  node(graph, "index", { section: "post-data", priority: PRIORITY.index, deps: ["table"] });
  const ordered = orderGraph(graph);
  assert.deepEqual(
    ordered.statements.map((s) => `${s.section}:${s.name}`),
    ["pre-data:table", "pre-data:pkey", "pre-data:view", "post-data:index"],
  );
});

Deno.test("aliases resolve sub-objects to the node that creates them", () => {
  const graph = new DumpGraph();
  node(graph, "pg_class:1", {});
  graph.alias("pg_attrdef:9", "pg_class:1");
  node(graph, "pg_proc:2", { deps: ["pg_attrdef:9", "pg_type:404"] });
  const ordered = orderGraph(graph);
  assert.deepEqual(ordered.statements.map((s) => s.name), ["pg_class:1", "pg_proc:2"]);
  assert.throws(() => node(graph, "pg_class:1", {}), /Duplicate dump node/);
});

Deno.test("a rendered script keeps one section and labels each statement", () => {
  const script = renderScript([
    { section: "pre-data", kind: "TABLE", schema: "s", name: "t", sql: "CREATE TABLE s.t ();" },
    { section: "post-data", kind: "INDEX", schema: "s", name: "i", sql: "CREATE INDEX i ON s.t;" },
  ], "pre-data");
  assert.match(script, /-- Name: t; Type: TABLE; Schema: s\n--\n\nCREATE TABLE s\.t \(\);/);
  assert.doesNotMatch(script, /CREATE INDEX/);
});

Deno.test("a plain table's key constraints build as indexes alongside the others, attached after", () => {
  const statement = (kind: string, name: string, sql: string) => ({
    kind,
    name,
    schema: "shop",
    section: "post-data" as const,
    sql,
  });
  const plan = planTableBuilds({
    table: "shop.Order Items",
    statements: [
      statement(
        "CONSTRAINT",
        "Order Items pkey",
        'ALTER TABLE ONLY shop."Order Items"\n    ADD CONSTRAINT "Order Items pkey" PRIMARY KEY (order_id, "Line");',
      ),
      statement(
        "CONSTRAINT",
        "oi_ref_key",
        'ALTER TABLE ONLY shop."Order Items"\n    ADD CONSTRAINT oi_ref_key UNIQUE (ref) DEFERRABLE;',
      ),
      statement(
        "INDEX",
        "oi_product_idx",
        'CREATE INDEX oi_product_idx ON shop."Order Items" USING btree (product_id);',
      ),
    ],
  });
  assert.deepEqual(plan.concurrent.map((one) => one.sql), [
    'CREATE UNIQUE INDEX "Order Items pkey" ON shop."Order Items" USING btree (order_id, "Line");',
    'CREATE INDEX oi_product_idx ON shop."Order Items" USING btree (product_id);',
  ]);
  assert.deepEqual(plan.then.map((one) => one.sql), [
    'ALTER TABLE ONLY shop."Order Items"\n    ADD CONSTRAINT "Order Items pkey" PRIMARY KEY USING INDEX "Order Items pkey";',
    // A deferrable unique constraint has no USING INDEX twin here: it stays whole.
    'ALTER TABLE ONLY shop."Order Items"\n    ADD CONSTRAINT oi_ref_key UNIQUE (ref) DEFERRABLE;',
  ]);
});
