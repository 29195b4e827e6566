/**
 * Aggregates (`CREATE AGGREGATE`), rendered option by option as pg_dump 15 does: plain,
 * moving-aggregate, ordered-set and hypothetical-set aggregates, with owner, comment and
 * privileges (an aggregate is a function: `GRANT … ON FUNCTION`).
 *
 * The support functions are named as the server's `regproc` output prints them while the
 * reader's search_path is empty (schema-qualified unless the name is unique in pg_catalog),
 * exactly as pg_dump names them; CREATE AGGREGATE resolves them by the aggregate's types.
 *
 * @module
 */
import { addAcl, addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import { operatorReference } from "./operators.ts";
import { quoteLiteral } from "./quote.ts";

/** A row of {@link queryAggregates}. */
export interface AggregateRow {
  oid: string;
  schema: string;
  name: string;
  /** `pg_get_function_arguments`: names, VARIADIC and `ORDER BY` included. */
  arguments: string;
  /** The argument types alone, comma-separated (how GRANT names the function). */
  argumentTypes: string;
  argumentCount: number;
  /** `n` normal, `o` ordered-set, `h` hypothetical-set. */
  aggKind: string;
  transFunction: string;
  transType: string;
  transSpace: number;
  initialValue: string | null;
  finalFunction: string | null;
  finalExtra: boolean;
  finalModify: string;
  combineFunction: string | null;
  serialFunction: string | null;
  deserialFunction: string | null;
  movingTransFunction: string | null;
  movingInverseFunction: string | null;
  movingTransType: string | null;
  movingTransSpace: number;
  movingInitialValue: string | null;
  movingFinalFunction: string | null;
  movingFinalExtra: boolean;
  movingFinalModify: string;
  sortOperatorSchema: string | null;
  sortOperatorName: string | null;
  parallel: string;
  owner: string;
  acl: string[] | null;
  base: string[] | null;
  comment: string | null;
}

/** Aggregates in the given schemas, extension members left out. */
export function queryAggregates(sql: Queryable, schemas: string[]): Promise<AggregateRow[]> {
  return sql<AggregateRow[]>`
    select p.oid::text as oid, n.nspname as schema, p.proname as name,
      pg_get_function_arguments(p.oid) as arguments,
      oidvectortypes(p.proargtypes) as "argumentTypes", p.pronargs::int as "argumentCount",
      a.aggkind as "aggKind", a.aggtransfn::text as "transFunction",
      a.aggtranstype::regtype::text as "transType", a.aggtransspace as "transSpace",
      a.agginitval as "initialValue",
      nullif(a.aggfinalfn, 0)::regproc::text as "finalFunction",
      a.aggfinalextra as "finalExtra", a.aggfinalmodify as "finalModify",
      nullif(a.aggcombinefn, 0)::regproc::text as "combineFunction",
      nullif(a.aggserialfn, 0)::regproc::text as "serialFunction",
      nullif(a.aggdeserialfn, 0)::regproc::text as "deserialFunction",
      nullif(a.aggmtransfn, 0)::regproc::text as "movingTransFunction",
      nullif(a.aggminvtransfn, 0)::regproc::text as "movingInverseFunction",
      case when a.aggmtranstype <> 0 then a.aggmtranstype::regtype::text end
        as "movingTransType",
      a.aggmtransspace as "movingTransSpace", a.aggminitval as "movingInitialValue",
      nullif(a.aggmfinalfn, 0)::regproc::text as "movingFinalFunction",
      a.aggmfinalextra as "movingFinalExtra", a.aggmfinalmodify as "movingFinalModify",
      son.nspname as "sortOperatorSchema", so.oprname as "sortOperatorName",
      p.proparallel as parallel, pg_get_userbyid(p.proowner) as owner,
      p.proacl::text[] as acl,
      coalesce(ip.initprivs, acldefault('f', p.proowner))::text[] as base,
      (select ds.description from pg_description ds where ds.objoid = p.oid
        and ds.classoid = 'pg_proc'::regclass and ds.objsubid = 0) as comment
    from pg_aggregate a
    join pg_proc p on p.oid = a.aggfnoid
    join pg_namespace n on n.oid = p.pronamespace
    left join pg_operator so on so.oid = a.aggsortop
    left join pg_namespace son on son.oid = so.oprnamespace
    left join pg_init_privs ip on ip.classoid = 'pg_proc'::regclass and ip.objoid = p.oid
      and ip.objsubid = 0
    where n.nspname = any(${schemas})
      and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass
        and d.objid = p.oid and d.deptype in ('e', 'i'))
    order by n.nspname, p.proname, p.oid`;
}

const MODIFY: Record<string, string> = { r: "READ_ONLY", s: "SHAREABLE", w: "READ_WRITE" };
const PARALLEL: Record<string, string> = { s: "safe", r: "restricted" };

/** The options of CREATE AGGREGATE, in pg_dump's order. */
function aggregateOptions(ctx: ReadContext, row: AggregateRow): string[] {
  // The default FINALFUNC_MODIFY: READ_ONLY for plain aggregates, READ_WRITE for the others.
  const defaultModify = row.aggKind === "n" ? "r" : "w";
  const options = [`SFUNC = ${row.transFunction}`, `STYPE = ${row.transType}`];
  if (row.transSpace !== 0) options.push(`SSPACE = ${row.transSpace}`);
  if (row.initialValue !== null) options.push(`INITCOND = ${quoteLiteral(row.initialValue)}`);
  if (row.finalFunction !== null) {
    options.push(`FINALFUNC = ${row.finalFunction}`);
    if (row.finalExtra) options.push("FINALFUNC_EXTRA");
    if (row.finalModify !== defaultModify && MODIFY[row.finalModify]) {
      options.push(`FINALFUNC_MODIFY = ${MODIFY[row.finalModify]}`);
    }
  }
  if (row.combineFunction !== null) options.push(`COMBINEFUNC = ${row.combineFunction}`);
  if (row.serialFunction !== null) options.push(`SERIALFUNC = ${row.serialFunction}`);
  if (row.deserialFunction !== null) options.push(`DESERIALFUNC = ${row.deserialFunction}`);
  if (row.movingTransFunction !== null) {
    options.push(
      `MSFUNC = ${row.movingTransFunction}`,
      `MINVFUNC = ${row.movingInverseFunction}`,
      `MSTYPE = ${row.movingTransType}`,
    );
  }
  if (row.movingTransSpace !== 0) options.push(`MSSPACE = ${row.movingTransSpace}`);
  if (row.movingInitialValue !== null) {
    options.push(`MINITCOND = ${quoteLiteral(row.movingInitialValue)}`);
  }
  if (row.movingFinalFunction !== null) {
    options.push(`MFINALFUNC = ${row.movingFinalFunction}`);
    if (row.movingFinalExtra) options.push("MFINALFUNC_EXTRA");
    if (row.movingFinalModify !== defaultModify && MODIFY[row.movingFinalModify]) {
      options.push(`MFINALFUNC_MODIFY = ${MODIFY[row.movingFinalModify]}`);
    }
  }
  if (row.sortOperatorSchema !== null && row.sortOperatorName !== null) {
    options.push(
      `SORTOP = ${operatorReference(ctx.quoter, row.sortOperatorSchema, row.sortOperatorName)}`,
    );
  }
  if (row.aggKind === "h") options.push("HYPOTHETICAL");
  if (PARALLEL[row.parallel]) options.push(`PARALLEL = ${PARALLEL[row.parallel]}`);
  return options;
}

/** Adds a node per aggregate in scope, after the functions and types it uses. */
export function buildAggregates(ctx: ReadContext, rows: AggregateRow[]): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_proc", row.oid);
    if (ctx.members.has(id) || !ctx.filter.schemaDdl(row.schema)) continue;
    if (ctx.filter.tablesRestricted) continue;
    const qualified = q.qualified(row.schema, row.name);
    // `(*)` for an aggregate without arguments, as `count(*)`.
    const signature = `${qualified}(${row.argumentCount === 0 ? "*" : row.arguments})`;
    const label = `${row.name}(${row.argumentCount === 0 ? "*" : row.argumentTypes})`;
    const options = aggregateOptions(ctx, row);
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "AGGREGATE",
      schema: row.schema,
      name: label,
      sql: `CREATE AGGREGATE ${signature} (\n    ${options.join(",\n    ")}\n);`,
      priority: PRIORITY.aggregate,
    });
    addOwner(ctx, node, { objectType: "AGGREGATE", name: signature, owner: row.owner });
    addComment(node, {
      what: `AGGREGATE ${signature}`,
      label: `AGGREGATE ${label}`,
      comment: row.comment,
    });
    addAcl(ctx, node, {
      acl: row.acl,
      base: row.base,
      target: { type: "FUNCTION", name: `${qualified}(${row.argumentTypes})`, owner: row.owner },
      label: `FUNCTION ${row.name}(${row.argumentTypes})`,
    });
  }
}
