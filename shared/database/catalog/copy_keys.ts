/**
 * The key each table's rows can be read in order of, a key range at a time (the backup's
 * slices of a large table): its primary key, else a unique index over NOT NULL columns.
 *
 * Only an index a range scan can serve in key order qualifies: btree, valid and ready, no
 * predicate, no expressions, every key column NOT NULL, ascending with the type's default
 * operator class and the column's own collation, so `ORDER BY` the columns and a row comparison
 * on them use the index. Among several, the primary key wins, then the fewest columns, then
 * the index name. A table without one has no key and is always copied whole.
 *
 * Key values travel as their text form (`value::text`) and are cast back to the column's type
 * by its catalog name, so a database in `SQL_ASCII` (whose text may not be valid UTF-8, and so
 * not survive JSON) gets no keys.
 *
 * @module
 */
import type { Queryable } from "./db.ts";
import type { KeyColumn } from "./model.ts";

/** A row of {@link queryCopyKeys}. */
export interface CopyKeyRow {
  tableOid: string;
  key: KeyColumn[];
}

/** The best ordered key of every ordinary table (and leaf partition) in the given schemas. */
export function queryCopyKeys(sql: Queryable, schemas: string[]): Promise<CopyKeyRow[]> {
  return sql<CopyKeyRow[]>`
    select distinct on (i.indrelid) i.indrelid::text as "tableOid",
      (select json_agg(json_build_object('name', a.attname, 'typeSchema', tn.nspname,
          'typeName', t.typname) order by s.n)
        from generate_series(0, i.indnkeyatts - 1) s(n)
        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[s.n]
        join pg_type t on t.oid = a.atttypid
        join pg_namespace tn on tn.oid = t.typnamespace) as key
    from pg_index i
    join pg_class c on c.oid = i.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_class ic on ic.oid = i.indexrelid
    join pg_am am on am.oid = ic.relam
    where n.nspname = any(${schemas}) and c.relkind = 'r'
      and getdatabaseencoding() <> 'SQL_ASCII'
      and i.indisunique and i.indisvalid and i.indisready and i.indislive
      and am.amname = 'btree' and i.indpred is null and i.indexprs is null
      and i.indnkeyatts > 0
      and not exists (
        select from generate_series(0, i.indnkeyatts - 1) s(n)
        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[s.n]
        join pg_opclass oc on oc.oid = i.indclass[s.n]
        where not a.attnotnull or not oc.opcdefault or i.indoption[s.n] <> 0
          or i.indcollation[s.n] <> a.attcollation)
    order by i.indrelid, i.indisprimary desc, i.indnkeyatts, ic.relname`;
}
