/**
 * Objects the reader does not reproduce (collations, operators, text search objects, casts,
 * foreign data wrappers and servers, subscriptions, large objects, …): listed so a backup can
 * say what it leaves out.
 *
 * @module
 */
import type { Queryable } from "./db.ts";

/** A row of {@link queryUnsupported}. */
export interface UnsupportedRow {
  kind: string;
  name: string;
}

/**
 * User objects of kinds the reader does not dump, in the given schemas or database-wide,
 * extension members excluded.
 */
export function queryUnsupported(sql: Queryable, schemas: string[]): Promise<UnsupportedRow[]> {
  return sql<UnsupportedRow[]>`
    with member as (
      select classid, objid from pg_depend where deptype in ('e', 'i')
    ), objects as (
      select 'COLLATION' as kind, 'pg_collation'::regclass as catalog, c.oid,
        n.nspname || '.' || c.collname as name, n.nspname as schema
      from pg_collation c join pg_namespace n on n.oid = c.collnamespace
      union all
      select 'OPERATOR', 'pg_operator'::regclass, o.oid, n.nspname || '.' || o.oprname,
        n.nspname
      from pg_operator o join pg_namespace n on n.oid = o.oprnamespace
      union all
      select 'OPERATOR CLASS', 'pg_opclass'::regclass, o.oid, n.nspname || '.' || o.opcname,
        n.nspname
      from pg_opclass o join pg_namespace n on n.oid = o.opcnamespace
      union all
      select 'OPERATOR FAMILY', 'pg_opfamily'::regclass, o.oid, n.nspname || '.' || o.opfname,
        n.nspname
      from pg_opfamily o join pg_namespace n on n.oid = o.opfnamespace
      union all
      select 'TEXT SEARCH CONFIGURATION', 'pg_ts_config'::regclass, t.oid,
        n.nspname || '.' || t.cfgname, n.nspname
      from pg_ts_config t join pg_namespace n on n.oid = t.cfgnamespace
      union all
      select 'TEXT SEARCH DICTIONARY', 'pg_ts_dict'::regclass, t.oid,
        n.nspname || '.' || t.dictname, n.nspname
      from pg_ts_dict t join pg_namespace n on n.oid = t.dictnamespace
      union all
      select 'CONVERSION', 'pg_conversion'::regclass, c.oid, n.nspname || '.' || c.conname,
        n.nspname
      from pg_conversion c join pg_namespace n on n.oid = c.connamespace
      union all
      select 'CAST', 'pg_cast'::regclass, c.oid,
        format_type(c.castsource, null) || ' AS ' || format_type(c.casttarget, null), null
      from pg_cast c where c.oid >= 16384
      union all
      select 'FOREIGN DATA WRAPPER', 'pg_foreign_data_wrapper'::regclass, w.oid, w.fdwname,
        null
      from pg_foreign_data_wrapper w
      union all
      select 'SERVER', 'pg_foreign_server'::regclass, s.oid, s.srvname, null
      from pg_foreign_server s
      union all
      select 'PROCEDURAL LANGUAGE', 'pg_language'::regclass, l.oid, l.lanname, null
      from pg_language l where l.oid >= 16384
      union all
      select 'ACCESS METHOD', 'pg_am'::regclass, a.oid, a.amname, null
      from pg_am a where a.oid >= 16384
      union all
      select 'SUBSCRIPTION', 'pg_subscription'::regclass, s.oid, s.subname, null
      from pg_subscription s
      where s.subdbid = (select oid from pg_database where datname = current_database())
      union all
      select 'LARGE OBJECT', 'pg_largeobject_metadata'::regclass, l.oid, l.oid::text, null
      from pg_largeobject_metadata l
    )
    select o.kind, o.name
    from objects o
    where o.oid >= 16384 and (o.schema is null or o.schema = any(${schemas}))
      and not exists (select from member m where m.classid = o.catalog and m.objid = o.oid)
    order by o.kind, o.name`;
}
