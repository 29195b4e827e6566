/**
 * Extension configuration tables and sequences (`pg_extension.extconfig` / `extcondition`, as
 * `pg_extension_config_dump` marks them): the tables belong to their extension, which creates
 * them, but the rows the extension's condition selects are the database's own (PostGIS's
 * custom `spatial_ref_sys` SRIDs, pg_cron's `cron.job`), and so are the values of its
 * configuration sequences. pg_dump dumps both as data, and so does this reader: each table as
 * a table to copy with its condition (`COPY (SELECT … FROM ONLY t <condition>)`), each
 * sequence as a `SEQUENCE SET`.
 *
 * As pg_dump decides: an extension's configuration is dumped when the extension is (its
 * `CREATE EXTENSION`), or when the table or its schema is named in the scope's include lists;
 * never when the table or its schema is excluded; never in a schema-only dump.
 *
 * A configuration table may reference another of its extension's (PostGIS topology's `layer`
 * references `topology`), and those foreign keys exist from `CREATE EXTENSION` on, before any
 * row loads: each table lists in `loadAfter` the configuration tables it references, which a
 * restore and an exported script load first.
 *
 * @module
 */
import type { ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import type { DumpScope, TableToCopy } from "./model.ts";
import { quoteLiteral } from "./quote.ts";

/** A row of {@link queryExtensionConfig}: one configuration table or sequence. */
export interface ExtensionConfigRow {
  extensionOid: string;
  extension: string;
  oid: string;
  schema: string;
  name: string;
  kind: string;
  /** The extension's condition (`WHERE …`), or "" for every row. */
  condition: string;
  columns: string[];
  rows: number;
  bytes: string;
  /** Oids of the tables its foreign keys reference (itself excepted). */
  references: string[];
  /** A sequence's state, when the reading role may read it. */
  lastValue: string | null;
  isCalled: boolean | null;
}

/** Every extension's configuration tables and sequences. */
export function queryExtensionConfig(sql: Queryable): Promise<ExtensionConfigRow[]> {
  return sql<ExtensionConfigRow[]>`
    select t.*,
      (xpath('/row/last_value/text()', t.seq))[1]::text as "lastValue",
      (xpath('/row/is_called/text()', t.seq))[1]::text::boolean as "isCalled"
    from (
      select e.oid::text as "extensionOid", e.extname as extension, c.oid::text as oid,
        n.nspname as schema, c.relname as name, c.relkind::text as kind,
        coalesce(x.condition, '') as condition,
        array(select a.attname::text from pg_attribute a where a.attrelid = c.oid
          and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
          order by a.attnum) as columns,
        c.reltuples::float8 as rows, pg_table_size(c.oid)::text as bytes,
        array(select k.confrelid::text from pg_constraint k where k.conrelid = c.oid
          and k.contype = 'f' and k.confrelid <> c.oid order by k.confrelid) as "references",
        case when c.relkind = 'S' and has_schema_privilege(n.oid, 'USAGE')
            and has_sequence_privilege(c.oid, 'SELECT')
          then query_to_xml(format('select last_value, is_called from %I.%I', n.nspname,
            c.relname), false, true, '') end as seq
      from pg_extension e
      cross join lateral unnest(e.extconfig, e.extcondition) as x(reloid, condition)
      join pg_class c on c.oid = x.reloid
      join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'S')
    ) t
    order by t.schema, t.name`;
}

/**
 * Adds a `SEQUENCE SET` per configuration sequence dumped, and returns the configuration tables
 * whose rows to copy.
 */
export function buildExtensionConfig(
  ctx: ReadContext,
  rows: readonly ExtensionConfigRow[],
  scope: DumpScope,
): TableToCopy[] {
  const q = ctx.quoter;
  const dumped = rows.filter((row) => isDumped(ctx, row, scope));
  const labelOf = new Map(
    dumped.filter((row) => row.kind === "r").map((row) => [row.oid, `${row.schema}.${row.name}`]),
  );
  const tables: TableToCopy[] = [];
  for (const row of dumped) {
    if (row.kind === "S") {
      if (ctx.graph.nodes.has(`setval:${row.oid}`)) continue;
      if (row.lastValue === null || row.isCalled === null) {
        ctx.warnings.push(
          `Sequence ${row.schema}.${row.name} of extension ${row.extension} could not be ` +
            "read: its value is not set",
        );
        continue;
      }
      const name = quoteLiteral(q.qualified(row.schema, row.name));
      ctx.graph.add({
        id: `setval:${row.oid}`,
        section: "post-data",
        kind: "SEQUENCE SET",
        schema: row.schema,
        name: row.name,
        sql: `SELECT pg_catalog.setval(${name}, ${row.lastValue}, ${row.isCalled});`,
        priority: PRIORITY.sequenceSet,
      });
      continue;
    }
    tables.push({
      schema: row.schema,
      name: row.name,
      columns: [...row.columns],
      kind: "table",
      estimatedRows: Math.max(0, Math.round(row.rows)),
      estimatedBytes: Number(row.bytes),
      managed: false,
      extension: {
        name: row.extension,
        condition: row.condition,
        loadAfter: row.references.flatMap((oid) => labelOf.has(oid) ? [labelOf.get(oid)!] : []),
      },
    });
  }
  return tables;
}

/** pg_dump's rule: the extension is dumped, or the table is included; and it is not excluded. */
function isDumped(ctx: ReadContext, row: ExtensionConfigRow, scope: DumpScope): boolean {
  const label = `${row.schema}.${row.name}`;
  if (scope.excludeTables?.includes(label) || scope.excludeSchemas?.includes(row.schema)) {
    return false;
  }
  return ctx.graph.nodes.has(ref("pg_extension", row.extensionOid)) ||
    scope.includeTables?.includes(label) === true ||
    scope.includeSchemas?.includes(row.schema) === true;
}
