/**
 * Operator families and operator classes, as pg_dump 15 renders them. Every family is
 * created on its own (`CREATE OPERATOR FAMILY`, also the one an operator class made for
 * itself), followed by `ALTER OPERATOR FAMILY … ADD` for its loose members (those tied to
 * the family, not to a class, in pg_depend); each class then names its family and lists the
 * members tied to it. A member (pg_amop, pg_amproc row) is an alias of the node that adds it,
 * so the operators and functions it needs come first.
 *
 * @module
 */
import { addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";

/** An operator of a family or class (a pg_amop row). */
export interface MemberOperator {
  oid: string;
  strategy: number;
  /** `regoperator` text, as `schema.op(type,type)`. */
  operator: string;
  /** For an ordering operator (`FOR ORDER BY`): the sort family. */
  sortSchema: string | null;
  sortName: string | null;
}

/** A support function of a family or class (a pg_amproc row). */
export interface MemberFunction {
  oid: string;
  number: number;
  /** `regprocedure` text. */
  function: string;
  left: string;
  right: string;
}

/** A row of {@link queryOperatorFamilies}. */
export interface OperatorFamilyRow {
  oid: string;
  schema: string;
  name: string;
  method: string;
  methodOid: string;
  owner: string;
  comment: string | null;
  /** Members tied to the family itself (`ALTER OPERATOR FAMILY … ADD`). */
  operators: MemberOperator[] | null;
  functions: MemberFunction[] | null;
}

/** A row of {@link queryOperatorClasses}. */
export interface OperatorClassRow {
  oid: string;
  schema: string;
  name: string;
  method: string;
  methodOid: string;
  isDefault: boolean;
  forType: string;
  forTypeOid: string;
  storage: string | null;
  familyOid: string;
  familySchema: string;
  familyName: string;
  owner: string;
  comment: string | null;
  operators: MemberOperator[] | null;
  functions: MemberFunction[] | null;
}

/** Operator families in the given schemas, with their loose members. */
export function queryOperatorFamilies(
  sql: Queryable,
  schemas: string[],
): Promise<OperatorFamilyRow[]> {
  return sql<OperatorFamilyRow[]>`
    select f.oid::text as oid, n.nspname as schema, f.opfname as name, am.amname as method,
      am.oid::text as "methodOid", pg_get_userbyid(f.opfowner) as owner,
      (select ds.description from pg_description ds where ds.objoid = f.oid
        and ds.classoid = 'pg_opfamily'::regclass and ds.objsubid = 0) as comment,
      (select json_agg(json_build_object('oid', ao.oid::text, 'strategy', ao.amopstrategy,
          'operator', ao.amopopr::regoperator::text, 'sortSchema', sn.nspname,
          'sortName', sf.opfname) order by ao.amopstrategy, ao.oid)
        from pg_amop ao
        join pg_depend d on d.classid = 'pg_amop'::regclass and d.objid = ao.oid
          and d.refclassid = 'pg_opfamily'::regclass and d.refobjid = f.oid
        left join pg_opfamily sf on sf.oid = ao.amopsortfamily
        left join pg_namespace sn on sn.oid = sf.opfnamespace
        where ao.amopfamily = f.oid) as operators,
      (select json_agg(json_build_object('oid', ap.oid::text, 'number', ap.amprocnum,
          'function', ap.amproc::regprocedure::text,
          'left', ap.amproclefttype::regtype::text,
          'right', ap.amprocrighttype::regtype::text) order by ap.amprocnum, ap.oid)
        from pg_amproc ap
        join pg_depend d on d.classid = 'pg_amproc'::regclass and d.objid = ap.oid
          and d.refclassid = 'pg_opfamily'::regclass and d.refobjid = f.oid
        where ap.amprocfamily = f.oid) as functions
    from pg_opfamily f
    join pg_namespace n on n.oid = f.opfnamespace
    join pg_am am on am.oid = f.opfmethod
    where n.nspname = any(${schemas})
      and not exists (select from pg_depend d where d.classid = 'pg_opfamily'::regclass
        and d.objid = f.oid and d.deptype in ('e', 'i'))
    order by n.nspname, f.opfname, f.oid`;
}

/** Operator classes in the given schemas, with the members tied to them. */
export function queryOperatorClasses(
  sql: Queryable,
  schemas: string[],
): Promise<OperatorClassRow[]> {
  return sql<OperatorClassRow[]>`
    select c.oid::text as oid, n.nspname as schema, c.opcname as name, am.amname as method,
      am.oid::text as "methodOid", c.opcdefault as "isDefault",
      c.opcintype::regtype::text as "forType", c.opcintype::text as "forTypeOid",
      case when c.opckeytype <> 0 then c.opckeytype::regtype::text end as storage,
      f.oid::text as "familyOid", fn.nspname as "familySchema", f.opfname as "familyName",
      pg_get_userbyid(c.opcowner) as owner,
      (select ds.description from pg_description ds where ds.objoid = c.oid
        and ds.classoid = 'pg_opclass'::regclass and ds.objsubid = 0) as comment,
      (select json_agg(json_build_object('oid', ao.oid::text, 'strategy', ao.amopstrategy,
          'operator', ao.amopopr::regoperator::text, 'sortSchema', sn.nspname,
          'sortName', sf.opfname) order by ao.amopstrategy, ao.oid)
        from pg_amop ao
        join pg_depend d on d.classid = 'pg_amop'::regclass and d.objid = ao.oid
          and d.refclassid = 'pg_opclass'::regclass and d.refobjid = c.oid
        left join pg_opfamily sf on sf.oid = ao.amopsortfamily
        left join pg_namespace sn on sn.oid = sf.opfnamespace
        where ao.amopfamily = c.opcfamily) as operators,
      (select json_agg(json_build_object('oid', ap.oid::text, 'number', ap.amprocnum,
          'function', ap.amproc::regprocedure::text,
          'left', ap.amproclefttype::regtype::text,
          'right', ap.amprocrighttype::regtype::text) order by ap.amprocnum, ap.oid)
        from pg_amproc ap
        join pg_depend d on d.classid = 'pg_amproc'::regclass and d.objid = ap.oid
          and d.refclassid = 'pg_opclass'::regclass and d.refobjid = c.oid
        where ap.amprocfamily = c.opcfamily) as functions
    from pg_opclass c
    join pg_namespace n on n.oid = c.opcnamespace
    join pg_am am on am.oid = c.opcmethod
    join pg_opfamily f on f.oid = c.opcfamily
    join pg_namespace fn on fn.oid = f.opfnamespace
    where n.nspname = any(${schemas})
      and not exists (select from pg_depend d where d.classid = 'pg_opclass'::regclass
        and d.objid = c.oid and d.deptype in ('e', 'i'))
    order by n.nspname, c.opcname, c.oid`;
}

function operatorItem(ctx: ReadContext, member: MemberOperator): string {
  let item = `OPERATOR ${member.strategy} ${member.operator}`;
  if (member.sortSchema !== null && member.sortName !== null) {
    item += ` FOR ORDER BY ${ctx.quoter.qualified(member.sortSchema, member.sortName)}`;
  }
  return item;
}

function functionItem(member: MemberFunction): string {
  return `FUNCTION ${member.number} (${member.left}, ${member.right}) ${member.function}`;
}

/** Adds a node per operator family in scope, its loose members added right after it. */
export function buildOperatorFamilies(ctx: ReadContext, rows: OperatorFamilyRow[]): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_opfamily", row.oid);
    if (ctx.members.has(id) || !ctx.filter.schemaDdl(row.schema)) continue;
    if (ctx.filter.tablesRestricted) continue;
    const qualified = q.qualified(row.schema, row.name);
    const using = `USING ${q.ident(row.method)}`;
    const label = `${row.name} ${using}`;
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "OPERATOR FAMILY",
      schema: row.schema,
      name: label,
      sql: `CREATE OPERATOR FAMILY ${qualified} ${using};`,
      priority: PRIORITY.operatorFamily,
      deps: [ref("pg_am", row.methodOid)],
    });
    const items = [
      ...(row.operators ?? []).map((member) => operatorItem(ctx, member)),
      ...(row.functions ?? []).map(functionItem),
    ];
    if (items.length > 0) {
      node.after.push({
        section: "pre-data",
        kind: "OPERATOR FAMILY",
        schema: row.schema,
        name: label,
        sql: `ALTER OPERATOR FAMILY ${qualified} ${using} ADD\n    ${items.join(" ,\n    ")};`,
      });
    }
    for (const member of row.operators ?? []) ctx.graph.alias(ref("pg_amop", member.oid), id);
    for (const member of row.functions ?? []) ctx.graph.alias(ref("pg_amproc", member.oid), id);
    addOwner(ctx, node, {
      objectType: "OPERATOR FAMILY",
      name: `${qualified} ${using}`,
      owner: row.owner,
    });
    addComment(node, {
      what: `OPERATOR FAMILY ${qualified} ${using}`,
      label: `OPERATOR FAMILY ${label}`,
      comment: row.comment,
    });
  }
}

/** Adds a node per operator class in scope, after its family. */
export function buildOperatorClasses(ctx: ReadContext, rows: OperatorClassRow[]): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_opclass", row.oid);
    if (ctx.members.has(id) || !ctx.filter.schemaDdl(row.schema)) continue;
    if (ctx.filter.tablesRestricted) continue;
    const qualified = q.qualified(row.schema, row.name);
    const using = `USING ${q.ident(row.method)}`;
    const label = `${row.name} ${using}`;
    const items: string[] = [];
    if (row.storage !== null) items.push(`STORAGE ${row.storage}`);
    items.push(...(row.operators ?? []).map((member) => operatorItem(ctx, member)));
    items.push(...(row.functions ?? []).map(functionItem));
    // Nothing after AS would not parse: a STORAGE of the input type is a no-op (pg_dump's way).
    if (items.length === 0) items.push(`STORAGE ${row.forType}`);
    const family = q.qualified(row.familySchema, row.familyName);
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "OPERATOR CLASS",
      schema: row.schema,
      name: label,
      sql: `CREATE OPERATOR CLASS ${qualified}\n    ${row.isDefault ? "DEFAULT " : ""}` +
        `FOR TYPE ${row.forType} ${using} FAMILY ${family} AS\n    ${items.join(" ,\n    ")};`,
      priority: PRIORITY.operatorClass,
      deps: [
        ref("pg_opfamily", row.familyOid),
        ref("pg_am", row.methodOid),
        ref("pg_type", row.forTypeOid),
      ],
    });
    for (const member of row.operators ?? []) ctx.graph.alias(ref("pg_amop", member.oid), id);
    for (const member of row.functions ?? []) ctx.graph.alias(ref("pg_amproc", member.oid), id);
    addOwner(ctx, node, {
      objectType: "OPERATOR CLASS",
      name: `${qualified} ${using}`,
      owner: row.owner,
    });
    addComment(node, {
      what: `OPERATOR CLASS ${qualified} ${using}`,
      label: `OPERATOR CLASS ${label}`,
      comment: row.comment,
    });
  }
}
