/**
 * Operators (`CREATE OPERATOR`), as pg_dump 15 renders them. A COMMUTATOR or NEGATOR that
 * does not exist yet is created by the server as a shell operator, which the later
 * `CREATE OPERATOR` of that name fills in: so a commutator pair needs no ordering between
 * its two halves, and shell operators themselves (no function) are never dumped.
 *
 * @module
 */
import { addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import type { Quoter } from "./quote.ts";

/** A row of {@link queryOperators}. */
export interface OperatorRow {
  oid: string;
  schema: string;
  name: string;
  /** `b` infix, `l` prefix. */
  kind: string;
  /** `regprocedure` text of the implementing function. */
  function: string;
  left: string | null;
  right: string | null;
  commutatorSchema: string | null;
  commutatorName: string | null;
  negatorSchema: string | null;
  negatorName: string | null;
  merges: boolean;
  hashes: boolean;
  restrict: string | null;
  join: string | null;
  owner: string;
  comment: string | null;
}

/** Operators (shells excepted) in the given schemas, extension members left out. */
export function queryOperators(sql: Queryable, schemas: string[]): Promise<OperatorRow[]> {
  return sql<OperatorRow[]>`
    select o.oid::text as oid, n.nspname as schema, o.oprname as name, o.oprkind as kind,
      o.oprcode::regprocedure::text as "function",
      case when o.oprleft <> 0 then o.oprleft::regtype::text end as "left",
      case when o.oprright <> 0 then o.oprright::regtype::text end as "right",
      cn.nspname as "commutatorSchema", c.oprname as "commutatorName",
      nn.nspname as "negatorSchema", ng.oprname as "negatorName",
      o.oprcanmerge as merges, o.oprcanhash as hashes,
      nullif(o.oprrest, 0)::regprocedure::text as "restrict",
      nullif(o.oprjoin, 0)::regprocedure::text as "join",
      pg_get_userbyid(o.oprowner) as owner,
      (select ds.description from pg_description ds where ds.objoid = o.oid
        and ds.classoid = 'pg_operator'::regclass and ds.objsubid = 0) as comment
    from pg_operator o
    join pg_namespace n on n.oid = o.oprnamespace
    left join pg_operator c on c.oid = o.oprcom
    left join pg_namespace cn on cn.oid = c.oprnamespace
    left join pg_operator ng on ng.oid = o.oprnegate
    left join pg_namespace nn on nn.oid = ng.oprnamespace
    where n.nspname = any(${schemas}) and o.oprcode <> 0
      and not exists (select from pg_depend d where d.classid = 'pg_operator'::regclass
        and d.objid = o.oid and d.deptype in ('e', 'i'))
    order by n.nspname, o.oprname, o.oid`;
}

/** The characters an operator name is made of (the server accepts no other). */
const OPERATOR_NAME = /^[-+*/<>=~!@#%^&|`?]+$/;

/** An operator's name, checked: it is written into DDL unquoted. */
export function operatorToken(name: string): string {
  if (!OPERATOR_NAME.test(name)) throw new Error(`Unexpected operator name ${name}`);
  return name;
}

/** `OPERATOR(schema.op)`, as pg_dump names an operator inside another object's options. */
export function operatorReference(quoter: Quoter, schema: string, name: string): string {
  return `OPERATOR(${quoter.ident(schema)}.${operatorToken(name)})`;
}

/** A function name without its argument list (pg_dump's `convertRegProcReference`). */
function withoutArguments(regprocedure: string): string {
  let quoted = false;
  for (let i = 0; i < regprocedure.length; i++) {
    const char = regprocedure[i];
    if (char === '"') quoted = !quoted;
    else if (char === "(" && !quoted) return regprocedure.slice(0, i);
  }
  return regprocedure;
}

/** Adds a node per operator in scope. */
export function buildOperators(ctx: ReadContext, rows: OperatorRow[]): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_operator", row.oid);
    if (ctx.members.has(id) || !ctx.filter.schemaDdl(row.schema)) continue;
    if (ctx.filter.tablesRestricted) continue;
    const qualified = `${q.ident(row.schema)}.${operatorToken(row.name)}`;
    const options = [`FUNCTION = ${withoutArguments(row.function)}`];
    if (row.left !== null) options.push(`LEFTARG = ${row.left}`);
    if (row.right !== null) options.push(`RIGHTARG = ${row.right}`);
    if (row.commutatorSchema !== null && row.commutatorName !== null) {
      options.push(
        `COMMUTATOR = ${operatorReference(q, row.commutatorSchema, row.commutatorName)}`,
      );
    }
    if (row.negatorSchema !== null && row.negatorName !== null) {
      options.push(`NEGATOR = ${operatorReference(q, row.negatorSchema, row.negatorName)}`);
    }
    if (row.merges) options.push("MERGES");
    if (row.hashes) options.push("HASHES");
    if (row.restrict !== null) options.push(`RESTRICT = ${withoutArguments(row.restrict)}`);
    if (row.join !== null) options.push(`JOIN = ${withoutArguments(row.join)}`);
    const signature = `${qualified} (${row.left ?? "NONE"}, ${row.right ?? "NONE"})`;
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "OPERATOR",
      schema: row.schema,
      name: `${row.name}(${row.left ?? "NONE"}, ${row.right ?? "NONE"})`,
      sql: `CREATE OPERATOR ${qualified} (\n    ${options.join(",\n    ")}\n);`,
      priority: PRIORITY.operator,
    });
    addOwner(ctx, node, { objectType: "OPERATOR", name: signature, owner: row.owner });
    addComment(node, {
      what: `OPERATOR ${signature}`,
      label: `OPERATOR ${node.name}`,
      comment: row.comment,
    });
  }
}
