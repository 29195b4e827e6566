/**
 * The one catalog query for relations: tables, partitions, views, materialized views,
 * sequences and foreign tables, with their columns as JSON.
 *
 * @module
 */
import type { Queryable } from "./db.ts";

/** A column of a relation. */
export interface ColumnRow {
  num: number;
  name: string;
  type: string;
  notNull: boolean;
  /** pg_get_expr of the default or generation expression. */
  default: string | null;
  defaultOid: string | null;
  /** `s` for a stored generated column. */
  generated: string;
  /** `a` (ALWAYS) or `d` (BY DEFAULT) for identity columns. */
  identity: string;
  collation: string | null;
  isLocal: boolean;
  statistics: number;
  storage: string | null;
  compression: string;
  options: string[] | null;
  /** A foreign table column's generic options, `[name, value]` sorted by name. */
  fdwOptions: [string, string][] | null;
  acl: string[] | null;
  comment: string | null;
}

/** A parent in pg_inherits. */
export interface ParentRow {
  oid: string;
  schema: string;
  name: string;
}

/** Sequence parameters. */
export interface SequenceParams {
  type: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
  typeMin: string;
  typeMax: string;
  /** The column the sequence is owned by (`a`) or the identity column (`i`). */
  ownedBy: { table: string; column: string; identity: boolean } | null;
}

/** A row of {@link queryRelations}. */
export interface RelationRow {
  oid: string;
  schema: string;
  name: string;
  kind: string;
  persistence: string;
  owner: string;
  acl: string[] | null;
  base: string[] | null;
  comment: string | null;
  options: string[] | null;
  rowSecurity: boolean;
  forceRowSecurity: boolean;
  replicaIdentity: string;
  isPartition: boolean;
  partitionKey: string | null;
  partitionBound: string | null;
  accessMethod: string | null;
  rowType: string;
  rowTypeArray: string;
  returnRule: string | null;
  viewDef: string | null;
  populated: boolean;
  rows: number;
  bytes: string;
  parents: ParentRow[];
  columns: ColumnRow[];
  sequence: SequenceParams | null;
  /** A foreign table's server and generic options (`[name, value]` sorted by name). */
  foreign: { serverOid: string; server: string; options: [string, string][] | null } | null;
}

/** Every relation in the given schemas. */
export function queryRelations(sql: Queryable, schemas: string[]): Promise<RelationRow[]> {
  return sql<RelationRow[]>`
    select c.oid::text as oid, n.nspname as schema, c.relname as name, c.relkind as kind,
      c.relpersistence as persistence, pg_get_userbyid(c.relowner) as owner,
      c.relacl::text[] as acl,
      coalesce(ip.initprivs, acldefault((case when c.relkind = 'S' then 's' else 'r' end)::"char",
        c.relowner))::text[] as base,
      (select ds.description from pg_description ds where ds.objoid = c.oid
        and ds.classoid = 'pg_class'::regclass and ds.objsubid = 0) as comment,
      c.reloptions as options, c.relrowsecurity as "rowSecurity",
      c.relforcerowsecurity as "forceRowSecurity", c.relreplident as "replicaIdentity",
      c.relispartition as "isPartition",
      case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end as "partitionKey",
      case when c.relispartition then pg_get_expr(c.relpartbound, c.oid) end
        as "partitionBound",
      case when c.relkind in ('r', 'p', 'm') and am.amname <> 'heap' then am.amname end
        as "accessMethod",
      c.reltype::text as "rowType", coalesce(rt.typarray, 0)::text as "rowTypeArray",
      (select r.oid::text from pg_rewrite r where r.ev_class = c.oid
        and r.rulename = '_RETURN') as "returnRule",
      case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end as "viewDef",
      c.relispopulated as populated,
      greatest(c.reltuples, 0)::float8 as rows,
      case when c.relkind in ('r', 'm') then pg_table_size(c.oid) else 0 end::text as bytes,
      coalesce((select json_agg(json_build_object('oid', i.inhparent::text,
          'schema', pn.nspname, 'name', pc.relname) order by i.inhseqno)
        from pg_inherits i join pg_class pc on pc.oid = i.inhparent
        join pg_namespace pn on pn.oid = pc.relnamespace
        where i.inhrelid = c.oid), '[]') as parents,
      coalesce((select json_agg(json_build_object(
          'num', a.attnum, 'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
          'notNull', a.attnotnull, 'default', pg_get_expr(ad.adbin, ad.adrelid),
          'defaultOid', ad.oid::text,
          'generated', a.attgenerated, 'identity', a.attidentity,
          'collation', case when a.attcollation <> t.typcollation then (
            select quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
            from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace
            where co.oid = a.attcollation) end,
          'isLocal', a.attislocal, 'statistics', a.attstattarget,
          'storage', case when a.attstorage <> t.typstorage then a.attstorage::text end,
          'compression', a.attcompression::text,
          -- pg_attver is kept by the server itself (per column, never the same twice), and
          -- pg_dump leaves it out: a restore cannot and must not carry it.
          'options', (select array_agg(o) from unnest(a.attoptions) o
            where left(o, 10) <> 'pg_attver='),
          'fdwOptions', case when a.attfdwoptions is not null then (
            select json_agg(json_build_array(o.option_name, o.option_value)
              order by o.option_name)
            from pg_options_to_table(a.attfdwoptions) o) end,
          'acl', a.attacl::text[], 'comment', (select ds.description from pg_description ds
            where ds.objoid = a.attrelid and ds.classoid = 'pg_class'::regclass
            and ds.objsubid = a.attnum))
          order by a.attnum)
        from pg_attribute a
        join pg_type t on t.oid = a.atttypid
        left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '[]') as columns,
      case when c.relkind = 'S' then (
        select json_build_object('type', format_type(s.seqtypid, null),
          'start', s.seqstart::text, 'increment', s.seqincrement::text,
          'min', s.seqmin::text, 'max', s.seqmax::text, 'cache', s.seqcache::text,
          'cycle', s.seqcycle,
          'typeMin', case s.seqtypid when 'int2'::regtype then '-32768'
            when 'int4'::regtype then '-2147483648' else '-9223372036854775808' end,
          'typeMax', case s.seqtypid when 'int2'::regtype then '32767'
            when 'int4'::regtype then '2147483647' else '9223372036854775807' end,
          'ownedBy', (select json_build_object('table', d.refobjid::text,
              'column', oa.attname, 'identity', d.deptype = 'i')
            from pg_depend d join pg_attribute oa on oa.attrelid = d.refobjid
              and oa.attnum = d.refobjsubid
            where d.classid = 'pg_class'::regclass and d.objid = c.oid
              and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
            limit 1))
        from pg_sequence s where s.seqrelid = c.oid) end as sequence,
      case when c.relkind = 'f' then (
        select json_build_object('serverOid', ft.ftserver::text, 'server', fs.srvname,
          'options', (select json_agg(json_build_array(o.option_name, o.option_value)
            order by o.option_name) from pg_options_to_table(ft.ftoptions) o))
        from pg_foreign_table ft join pg_foreign_server fs on fs.oid = ft.ftserver
        where ft.ftrelid = c.oid) end as "foreign"
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_am am on am.oid = c.relam
    left join pg_type rt on rt.oid = c.reltype
    left join pg_init_privs ip on ip.classoid = 'pg_class'::regclass and ip.objoid = c.oid
      and ip.objsubid = 0
    where n.nspname = any(${schemas}) and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
    order by n.nspname, c.relname`;
}
