/**
 * Base types (`CREATE TYPE name (INPUT = …, OUTPUT = …, …)`) and shell types left undefined
 * (`CREATE TYPE name;`), as pg_dump 15 renders them.
 *
 * A base type and its I/O functions need each other: the functions take or return the type,
 * the type names the functions. pg_dump breaks the loop with a shell type: `CREATE TYPE
 * name;` first, then the functions (created against the shell), then the full definition,
 * which fills the shell in. Here the shell is a node of its own and, once pg_depend's edges
 * are in the graph, {@link useShellTypes} points the support functions at it instead of at
 * the type.
 *
 * @module
 */
import { addAcl, addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { type DumpGraph, PRIORITY, ref } from "./graph.ts";
import { quoteLiteral } from "./quote.ts";

/** A row of {@link queryBaseTypes}. */
export interface BaseTypeRow {
  oid: string;
  arrayOid: string;
  schemaOid: string;
  schema: string;
  name: string;
  owner: string;
  /** False for a shell type never completed. */
  defined: boolean;
  length: number;
  input: string;
  output: string;
  receive: string | null;
  send: string | null;
  typmodIn: string | null;
  typmodOut: string | null;
  analyze: string | null;
  subscript: string | null;
  /** The oids of the functions above that are set. */
  functionOids: string[];
  collatable: boolean;
  defaultLiteral: string | null;
  defaultExpression: string | null;
  element: string | null;
  category: string;
  preferred: boolean;
  delimiter: string;
  align: string;
  storage: string;
  byValue: boolean;
  acl: string[] | null;
  base: string[] | null;
  comment: string | null;
}

/**
 * Base types (auto-generated array types left out) and undefined shell types in the given
 * schemas, extension members left out.
 */
export function queryBaseTypes(sql: Queryable, schemas: string[]): Promise<BaseTypeRow[]> {
  return sql<BaseTypeRow[]>`
    select t.oid::text as oid, t.typarray::text as "arrayOid", n.oid::text as "schemaOid",
      n.nspname as schema, t.typname as name, pg_get_userbyid(t.typowner) as owner,
      t.typisdefined as defined, t.typlen::int as length,
      t.typinput::text as input, t.typoutput::text as output,
      nullif(t.typreceive, 0)::regproc::text as receive,
      nullif(t.typsend, 0)::regproc::text as send,
      nullif(t.typmodin, 0)::regproc::text as "typmodIn",
      nullif(t.typmodout, 0)::regproc::text as "typmodOut",
      nullif(t.typanalyze, 0)::regproc::text as "analyze",
      nullif(t.typsubscript, 0)::regproc::text as subscript,
      array(select f::oid::text from unnest(array[t.typinput, t.typoutput, t.typreceive,
          t.typsend, t.typmodin, t.typmodout, t.typanalyze, t.typsubscript]) f
        where f::oid <> 0) as "functionOids",
      t.typcollation <> 0 as collatable, t.typdefault as "defaultLiteral",
      pg_get_expr(t.typdefaultbin, 0) as "defaultExpression",
      case when t.typelem <> 0 then format_type(t.typelem, null) end as element,
      t.typcategory as category, t.typispreferred as preferred, t.typdelim as delimiter,
      t.typalign as align, t.typstorage as storage, t.typbyval as "byValue",
      t.typacl::text[] as acl,
      coalesce(ip.initprivs, acldefault('T', t.typowner))::text[] as base,
      (select ds.description from pg_description ds where ds.objoid = t.oid
        and ds.classoid = 'pg_type'::regclass and ds.objsubid = 0) as comment
    from pg_type t
    join pg_namespace n on n.oid = t.typnamespace
    left join pg_init_privs ip on ip.classoid = 'pg_type'::regclass and ip.objoid = t.oid
      and ip.objsubid = 0
    where n.nspname = any(${schemas})
      and ((t.typtype = 'b' and not exists (select from pg_type e
          where e.oid = t.typelem and e.typarray = t.oid))
        or (t.typtype = 'p' and not t.typisdefined))
      and not exists (select from pg_depend d where d.classid = 'pg_type'::regclass
        and d.objid = t.oid and d.deptype in ('e', 'i'))
    order by n.nspname, t.typname`;
}

const ALIGN: Record<string, string> = { c: "char", s: "int2", i: "int4", d: "double" };
const STORAGE: Record<string, string> = {
  p: "plain",
  e: "external",
  x: "extended",
  m: "main",
};

/** The options of CREATE TYPE, in pg_dump's order. */
function typeOptions(row: BaseTypeRow): string[] {
  const options = [
    `INTERNALLENGTH = ${row.length === -1 ? "variable" : row.length}`,
    `INPUT = ${row.input}`,
    `OUTPUT = ${row.output}`,
  ];
  if (row.receive !== null) options.push(`RECEIVE = ${row.receive}`);
  if (row.send !== null) options.push(`SEND = ${row.send}`);
  if (row.typmodIn !== null) options.push(`TYPMOD_IN = ${row.typmodIn}`);
  if (row.typmodOut !== null) options.push(`TYPMOD_OUT = ${row.typmodOut}`);
  if (row.analyze !== null) options.push(`ANALYZE = ${row.analyze}`);
  if (row.collatable) options.push("COLLATABLE = true");
  if (row.defaultExpression !== null) options.push(`DEFAULT = ${row.defaultExpression}`);
  else if (row.defaultLiteral !== null) {
    options.push(`DEFAULT = ${quoteLiteral(row.defaultLiteral)}`);
  }
  if (row.subscript !== null) options.push(`SUBSCRIPT = ${row.subscript}`);
  if (row.element !== null) options.push(`ELEMENT = ${row.element}`);
  if (row.category !== "U") options.push(`CATEGORY = ${quoteLiteral(row.category)}`);
  if (row.preferred) options.push("PREFERRED = true");
  if (row.delimiter !== ",") options.push(`DELIMITER = ${quoteLiteral(row.delimiter)}`);
  if (ALIGN[row.align]) options.push(`ALIGNMENT = ${ALIGN[row.align]}`);
  if (STORAGE[row.storage]) options.push(`STORAGE = ${STORAGE[row.storage]}`);
  if (row.byValue) options.push("PASSEDBYVALUE");
  return options;
}

/** A base type dumped with a shell first: for {@link useShellTypes}. */
export interface ShellType {
  /** The node of the full definition. */
  typeNode: string;
  /** The node of `CREATE TYPE name;`. */
  shellNode: string;
  /** Support functions that are dumped (nodes). */
  functions: string[];
}

/**
 * Adds a node per base type in scope (after the functions are in the graph: the shell is
 * only dumped when one of its support functions is) and per undefined shell type. Returns
 * the shells for {@link useShellTypes}.
 */
export function buildBaseTypes(ctx: ReadContext, rows: BaseTypeRow[]): ShellType[] {
  const q = ctx.quoter;
  const shells: ShellType[] = [];
  for (const row of rows) {
    const id = ref("pg_type", row.oid);
    if (ctx.members.has(id) || !ctx.filter.schemaDdl(row.schema)) continue;
    if (ctx.filter.tablesRestricted) continue;
    const qualified = q.qualified(row.schema, row.name);
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "TYPE",
      schema: row.schema,
      name: row.name,
      sql: row.defined
        ? `CREATE TYPE ${qualified} (\n    ${typeOptions(row).join(",\n    ")}\n);`
        : `CREATE TYPE ${qualified};`,
      priority: PRIORITY.type,
    });
    if (row.arrayOid !== "0") ctx.graph.alias(ref("pg_type", row.arrayOid), id);
    const functions = row.functionOids
      .map((oid) => ref("pg_proc", oid))
      .filter((fn) => ctx.graph.nodes.has(fn));
    if (row.defined && functions.length > 0) {
      const shellNode = `shelltype:${row.oid}`;
      ctx.graph.add({
        id: shellNode,
        section: "pre-data",
        kind: "SHELL TYPE",
        schema: row.schema,
        name: row.name,
        sql: `CREATE TYPE ${qualified};`,
        priority: PRIORITY.type,
        deps: [ref("pg_namespace", row.schemaOid)],
      });
      node.deps.add(shellNode);
      shells.push({ typeNode: id, shellNode, functions: [...new Set(functions)] });
    }
    addOwner(ctx, node, { objectType: "TYPE", name: qualified, owner: row.owner });
    addComment(node, {
      what: `TYPE ${qualified}`,
      label: `TYPE ${row.name}`,
      comment: row.comment,
    });
    addAcl(ctx, node, {
      acl: row.acl,
      base: row.base,
      target: { type: "TYPE", name: qualified, owner: row.owner },
      label: `TYPE ${row.name}`,
    });
  }
  return shells;
}

/**
 * Once pg_depend's edges are added: the support functions of a base type wait for its shell,
 * not for the type (which waits for them).
 */
export function useShellTypes(graph: DumpGraph, shells: ShellType[]): void {
  for (const shell of shells) {
    for (const fn of shell.functions) {
      const node = graph.nodes.get(fn);
      if (node === undefined) continue;
      for (const dep of [...node.deps]) {
        if (graph.resolve(dep) === shell.typeNode) node.deps.delete(dep);
      }
      node.deps.add(shell.shellNode);
    }
  }
}
