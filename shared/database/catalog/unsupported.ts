/**
 * Objects the reader does not reproduce (subscriptions, …): listed so a backup can say what
 * it leaves out.
 *
 * Subscriptions stay here on purpose. pg_dump dumps one `WITH (connect = false)` but with its
 * slot name and connection string (password included, readable by superusers only): the copy
 * is a second subscriber of the same publisher, aimed at the source subscriber's replication
 * slot, which enabling it would consume and dropping it would drop on the publisher. A restore
 * must never touch another server; the warning tells the operator to recreate it deliberately.
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
      select 'SUBSCRIPTION' as kind, 'pg_subscription'::regclass as catalog, s.oid,
        s.subname as name, null as schema
      from pg_subscription s
      where s.subdbid = (select oid from pg_database where datname = current_database())
    )
    select o.kind, o.name
    from objects o
    where o.oid >= 16384 and (o.schema is null or o.schema = any(${schemas}))
      and not exists (select from member m where m.classid = o.catalog and m.objid = o.oid)
    order by o.kind, o.name`;
}
