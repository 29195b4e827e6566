/**
 * User-defined types: enums, composite types, domains (with their constraints) and range
 * types. Base types and shell types are `base_types.ts`'s.
 *
 * @module
 */
import { addAcl, addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import { quoteLiteral } from "./quote.ts";

interface Attribute {
  name: string;
  type: string;
  collation: string | null;
  comment: string | null;
}

interface DomainConstraint {
  oid: string;
  name: string;
  def: string;
  validated: boolean;
  comment: string | null;
}

/** A row of {@link queryTypes}. */
export interface TypeRow {
  oid: string;
  arrayOid: string;
  relOid: string;
  schema: string;
  name: string;
  owner: string;
  typtype: string;
  acl: string[] | null;
  base: string[] | null;
  comment: string | null;
  labels: string[] | null;
  attributes: Attribute[] | null;
  domainBase: string | null;
  domainCollation: string | null;
  domainDefault: string | null;
  domainNotNull: boolean;
  constraints: DomainConstraint[] | null;
  rangeSubtype: string | null;
  rangeOpclass: string | null;
  rangeOpclassDefault: boolean;
  rangeCollation: string | null;
  rangeCanonical: string | null;
  rangeSubdiff: string | null;
  multirange: string | null;
  multirangeOid: string | null;
}

/** Enums, composites, domains and ranges in the given schemas. */
export function queryTypes(sql: Queryable, schemas: string[]): Promise<TypeRow[]> {
  return sql<TypeRow[]>`
    select t.oid::text as oid, t.typarray::text as "arrayOid", t.typrelid::text as "relOid",
      n.nspname as schema, t.typname as name, pg_get_userbyid(t.typowner) as owner,
      t.typtype, t.typacl::text[] as acl,
      coalesce(ip.initprivs, acldefault('T', t.typowner))::text[] as base,
      (select ds.description from pg_description ds where ds.objoid = t.oid
        and ds.classoid = 'pg_type'::regclass and ds.objsubid = 0) as comment,
      case when t.typtype = 'e' then array(
        select e.enumlabel::text from pg_enum e where e.enumtypid = t.oid
        order by e.enumsortorder) end as labels,
      case when t.typtype = 'c' then (
        select json_agg(json_build_object(
          'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
          'collation', case when a.attcollation <> at.typcollation then (
            select quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
            from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace
            where co.oid = a.attcollation) end,
          'comment', (select ds.description from pg_description ds
            where ds.objoid = a.attrelid and ds.classoid = 'pg_class'::regclass
            and ds.objsubid = a.attnum)) order by a.attnum)
        from pg_attribute a join pg_type at on at.oid = a.atttypid
        where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped) end as attributes,
      case when t.typtype = 'd' then format_type(t.typbasetype, t.typtypmod) end
        as "domainBase",
      case when t.typtype = 'd' and t.typcollation <> bt.typcollation then (
        select quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
        from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace
        where co.oid = t.typcollation) end as "domainCollation",
      pg_get_expr(t.typdefaultbin, 0) as "domainDefault",
      t.typnotnull as "domainNotNull",
      case when t.typtype = 'd' then (
        select json_agg(json_build_object('oid', c.oid::text, 'name', c.conname,
          'def', pg_get_constraintdef(c.oid), 'validated', c.convalidated,
          'comment', (select ds.description from pg_description ds where ds.objoid = c.oid
        and ds.classoid = 'pg_constraint'::regclass and ds.objsubid = 0)) order by c.conname)
        from pg_constraint c where c.contypid = t.oid) end as constraints,
      format_type(r.rngsubtype, null) as "rangeSubtype",
      (select quote_ident(on_.nspname) || '.' || quote_ident(oc.opcname)
        from pg_opclass oc join pg_namespace on_ on on_.oid = oc.opcnamespace
        where oc.oid = r.rngsubopc) as "rangeOpclass",
      coalesce((select oc.opcdefault from pg_opclass oc where oc.oid = r.rngsubopc), true)
        as "rangeOpclassDefault",
      case when r.rngcollation <> 0 and r.rngcollation <> st.typcollation then (
        select quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
        from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace
        where co.oid = r.rngcollation) end as "rangeCollation",
      nullif(r.rngcanonical, 0)::regproc::text as "rangeCanonical",
      nullif(r.rngsubdiff, 0)::regproc::text as "rangeSubdiff",
      format_type(r.rngmultitypid, null) as multirange,
      r.rngmultitypid::text as "multirangeOid"
    from pg_type t
    join pg_namespace n on n.oid = t.typnamespace
    left join pg_type bt on bt.oid = t.typbasetype
    left join pg_range r on r.rngtypid = t.oid
    left join pg_type st on st.oid = r.rngsubtype
    left join pg_init_privs ip on ip.classoid = 'pg_type'::regclass and ip.objoid = t.oid
      and ip.objsubid = 0
    where n.nspname = any(${schemas})
      and (t.typtype in ('e', 'd', 'r')
        or (t.typtype = 'c' and (select relkind from pg_class where oid = t.typrelid) = 'c'))
    order by n.nspname, t.typname`;
}

/** Adds nodes for the types in scope, and aliases their array (and multirange) types. */
export function buildTypes(ctx: ReadContext, rows: TypeRow[]): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_type", row.oid);
    if (ctx.members.has(id) || !ctx.filter.schemaDdl(row.schema)) continue;
    if (ctx.filter.tablesRestricted) continue;
    const qualified = q.qualified(row.schema, row.name);
    let sql: string;
    let kind = "TYPE";
    switch (row.typtype) {
      case "e": {
        const labels = (row.labels ?? []).map((l) => `    ${quoteLiteral(l)}`);
        sql = `CREATE TYPE ${qualified} AS ENUM (\n${labels.join(",\n")}\n);`;
        break;
      }
      case "c": {
        const attrs = (row.attributes ?? []).map((a) =>
          `    ${q.ident(a.name)} ${a.type}${a.collation ? ` COLLATE ${a.collation}` : ""}`
        );
        sql = `CREATE TYPE ${qualified} AS (\n${attrs.join(",\n")}\n);`;
        break;
      }
      case "d": {
        kind = "DOMAIN";
        let text = `CREATE DOMAIN ${qualified} AS ${row.domainBase}`;
        if (row.domainCollation) text += ` COLLATE ${row.domainCollation}`;
        if (row.domainDefault !== null) text += ` DEFAULT ${row.domainDefault}`;
        if (row.domainNotNull) text += " NOT NULL";
        for (const c of row.constraints ?? []) {
          if (c.validated) text += `\n\tCONSTRAINT ${q.ident(c.name)} ${c.def}`;
        }
        sql = text + ";";
        break;
      }
      case "r": {
        const options = [`    subtype = ${row.rangeSubtype}`];
        if (row.multirange) {
          options.push(`    multirange_type_name = ${row.multirange}`);
        }
        if (!row.rangeOpclassDefault && row.rangeOpclass) {
          options.push(`    subtype_opclass = ${row.rangeOpclass}`);
        }
        if (row.rangeCollation) options.push(`    collation = ${row.rangeCollation}`);
        if (row.rangeCanonical) options.push(`    canonical = ${row.rangeCanonical}`);
        if (row.rangeSubdiff) options.push(`    subtype_diff = ${row.rangeSubdiff}`);
        sql = `CREATE TYPE ${qualified} AS RANGE (\n${options.join(",\n")}\n);`;
        break;
      }
      default:
        continue; // Base and shell types: see base_types.ts.
    }
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind,
      schema: row.schema,
      name: row.name,
      sql,
      priority: PRIORITY.type,
      deps: [],
    });
    ctx.graph.alias(ref("pg_type", row.arrayOid), id);
    if (row.relOid !== "0") ctx.graph.alias(ref("pg_class", row.relOid), id);
    if (row.multirangeOid) ctx.graph.alias(ref("pg_type", row.multirangeOid), id);
    const objectType = kind === "DOMAIN" ? "DOMAIN" : "TYPE";
    addOwner(ctx, node, { objectType, name: qualified, owner: row.owner });
    addComment(node, {
      what: `${objectType} ${qualified}`,
      label: `${objectType} ${row.name}`,
      comment: row.comment,
    });
    if (row.typtype === "c") {
      for (const a of row.attributes ?? []) {
        addComment(node, {
          what: `COLUMN ${qualified}.${q.ident(a.name)}`,
          label: `COLUMN ${row.name}.${a.name}`,
          comment: a.comment,
        });
      }
    }
    for (const c of row.constraints ?? []) {
      if (c.validated) ctx.graph.alias(ref("pg_constraint", c.oid), id);
      if (!c.validated) {
        const check = ctx.graph.add({
          id: ref("pg_constraint", c.oid),
          section: "post-data",
          kind: "CHECK CONSTRAINT",
          schema: row.schema,
          name: `${row.name} ${c.name}`,
          sql: `ALTER DOMAIN ${qualified}\n    ADD CONSTRAINT ${q.ident(c.name)} ${c.def};`,
          priority: PRIORITY.constraint,
          deps: [id],
        });
        addComment(check, {
          what: `CONSTRAINT ${q.ident(c.name)} ON DOMAIN ${qualified}`,
          label: `CONSTRAINT ${c.name} ON DOMAIN ${row.name}`,
          comment: c.comment,
        });
      } else {
        addComment(node, {
          what: `CONSTRAINT ${q.ident(c.name)} ON DOMAIN ${qualified}`,
          label: `CONSTRAINT ${c.name} ON DOMAIN ${row.name}`,
          comment: c.comment,
        });
      }
    }
    addAcl(ctx, node, {
      acl: row.acl,
      base: row.base,
      target: { type: objectType, name: qualified, owner: row.owner },
      label: `${objectType} ${row.name}`,
    });
  }
}
