/**
 * Tables (with inline columns, defaults, generated columns and CHECK constraints, identity
 * columns, partitions attached as pg_dump does), views, materialized views and sequences.
 *
 * @module
 */
import { addAcl, addComment, addOwner, type ReadContext } from "./context.ts";
import type { ConstraintRow } from "./constraints.ts";
import { optionsClause } from "./foreign_data.ts";
import { type DumpNode, PRIORITY, ref } from "./graph.ts";
import { addManagedRowSecurity, hookedTables } from "./managed_hooks.ts";
import { quoteLiteral } from "./quote.ts";
import type { ColumnRow, RelationRow, SequenceParams } from "./relations_query.ts";

const OBJECT_TYPE: Record<string, string> = {
  r: "TABLE",
  p: "TABLE",
  v: "VIEW",
  m: "MATERIALIZED VIEW",
  S: "SEQUENCE",
  f: "FOREIGN TABLE",
};

/** `WITH (a='1', b='x')` from pg_class.reloptions, or "" when there are none. */
export function withOptions(options: string[] | null, skip: string[] = []): string {
  const parts = (options ?? []).flatMap((option) => {
    const eq = option.indexOf("=");
    const key = eq < 0 ? option : option.slice(0, eq);
    if (skip.includes(key)) return [];
    return [eq < 0 ? key : `${key}=${quoteLiteral(option.slice(eq + 1))}`];
  });
  return parts.length === 0 ? "" : `WITH (${parts.join(", ")})`;
}

/** The options of CREATE SEQUENCE or of an identity column's sequence. */
export function sequenceOptions(s: SequenceParams, indent: string): string[] {
  const ascending = BigInt(s.increment) > 0n;
  const defaultMin = ascending ? "1" : s.typeMin;
  const defaultMax = ascending ? s.typeMax : "-1";
  return [
    `${indent}START WITH ${s.start}`,
    `${indent}INCREMENT BY ${s.increment}`,
    s.min === defaultMin ? `${indent}NO MINVALUE` : `${indent}MINVALUE ${s.min}`,
    s.max === defaultMax ? `${indent}NO MAXVALUE` : `${indent}MAXVALUE ${s.max}`,
    `${indent}CACHE ${s.cache}${s.cycle ? `\n${indent}CYCLE` : ""}`,
  ];
}

/** What the relation builder tells the others. */
export interface Relations {
  byOid: Map<string, RelationRow>;
  /** Relations whose DDL is dumped, by oid. */
  dumped: Set<string>;
  /** Managed tables whose triggers and policies are dumped (see `managedTableHooks`). */
  hooked: Set<string>;
}

function columnSql(ctx: ReadContext, c: ColumnRow): string {
  let text = `    ${ctx.quoter.ident(c.name)} ${c.type}`;
  if (c.collation) text += ` COLLATE ${c.collation}`;
  if (c.generated === "s") text += ` GENERATED ALWAYS AS (${c.default}) STORED`;
  else if (c.default !== null) text += ` DEFAULT ${c.default}`;
  if (c.notNull) text += " NOT NULL";
  return text;
}

function columnSettings(
  ctx: ReadContext,
  c: ColumnRow,
  options: { qualified: string; foreign: boolean },
): string[] {
  const { qualified } = options;
  const alter = options.foreign ? "ALTER FOREIGN TABLE" : "ALTER TABLE";
  const col = `${alter} ONLY ${qualified} ALTER COLUMN ${ctx.quoter.ident(c.name)}`;
  const out: string[] = [];
  if (c.statistics >= 0) out.push(`${col} SET STATISTICS ${c.statistics};`);
  if (c.storage !== null) {
    const storage = { p: "PLAIN", e: "EXTERNAL", m: "MAIN", x: "EXTENDED" }[c.storage];
    if (storage) out.push(`${col} SET STORAGE ${storage};`);
  }
  if (c.compression === "p") out.push(`${col} SET COMPRESSION pglz;`);
  if (c.compression === "l") out.push(`${col} SET COMPRESSION lz4;`);
  if (c.options && c.options.length > 0) {
    out.push(`${col} SET (${withOptions(c.options).slice(6, -1)});`);
  }
  if (c.fdwOptions && c.fdwOptions.length > 0) {
    out.push(
      `${alter} ${qualified} ALTER COLUMN ${ctx.quoter.ident(c.name)} ` +
        `${optionsClause(c.fdwOptions, ctx.quoter)};`,
    );
  }
  return out;
}

/** Adds the nodes for every relation in scope. */
export function buildRelations(
  ctx: ReadContext,
  rows: RelationRow[],
  options: { checks: Map<string, ConstraintRow[]>; managedTableHooks: boolean },
): Relations {
  const q = ctx.quoter;
  const byOid = new Map(rows.map((r) => [r.oid, r]));
  const dumped = new Set<string>();
  const hooked = hookedTables(ctx, rows, options.managedTableHooks);
  addManagedRowSecurity(ctx, rows, hooked);
  for (const row of rows) {
    const id = ref("pg_class", row.oid);
    if (row.kind === "S" && row.sequence?.ownedBy) continue; // follows its table, below
    if (ctx.members.has(id) || !ctx.filter.relationDdl(row.schema, row.name)) continue;
    dumped.add(row.oid);
  }
  // A sequence owned by a column is dumped with its table (an identity one inside it).
  for (const row of rows) {
    const owned = row.sequence?.ownedBy;
    if (!owned || owned.identity || ctx.members.has(ref("pg_class", row.oid))) continue;
    if (dumped.has(owned.table)) dumped.add(row.oid);
  }
  // Identity sequences, by table oid and column.
  const identity = new Map<string, RelationRow>();
  for (const row of rows) {
    const owned = row.sequence?.ownedBy;
    if (owned?.identity) identity.set(`${owned.table}.${owned.column}`, row);
  }

  for (const row of rows) {
    if (!dumped.has(row.oid)) continue;
    const id = ref("pg_class", row.oid);
    const qualified = q.qualified(row.schema, row.name);
    const objectType = OBJECT_TYPE[row.kind];
    let node: DumpNode;
    if (row.kind === "S") {
      node = addSequence(ctx, row, { id, qualified, byOid, dumped });
    } else if (row.kind === "v" || row.kind === "m") {
      node = addView(ctx, row, { id, qualified });
    } else {
      node = addTable(ctx, row, {
        id,
        qualified,
        byOid,
        dumped,
        checks: options.checks.get(row.oid) ?? [],
        identity,
      });
    }
    ctx.graph.alias(ref("pg_type", row.rowType), id);
    if (row.rowTypeArray !== "0") ctx.graph.alias(ref("pg_type", row.rowTypeArray), id);
    if (row.returnRule) ctx.graph.alias(ref("pg_rewrite", row.returnRule), id);
    for (const c of row.columns) {
      if (c.defaultOid) ctx.graph.alias(ref("pg_attrdef", c.defaultOid), id);
    }
    addOwner(ctx, node, { objectType, name: qualified, owner: row.owner });
    addComment(node, {
      what: `${objectType} ${qualified}`,
      label: `${objectType} ${row.name}`,
      comment: row.comment,
    });
    for (const c of row.columns) {
      addComment(node, {
        what: `COLUMN ${qualified}.${q.ident(c.name)}`,
        label: `COLUMN ${row.name}.${c.name}`,
        comment: c.comment,
      });
    }
    const aclType = row.kind === "S" ? "SEQUENCE" : "TABLE";
    addAcl(ctx, node, {
      acl: row.acl,
      base: row.base,
      target: { type: aclType, name: qualified, owner: row.owner },
      label: `${aclType} ${row.name}`,
    });
    for (const c of row.columns) {
      addAcl(ctx, node, {
        acl: c.acl,
        base: null,
        target: { type: aclType, name: qualified, owner: row.owner, column: q.ident(c.name) },
        label: `COLUMN ${row.name}.${c.name}`,
      });
    }
    if (row.rowSecurity && (row.kind === "r" || row.kind === "p")) {
      ctx.graph.add({
        id: `rls:${row.oid}`,
        section: "post-data",
        kind: "ROW SECURITY",
        schema: row.schema,
        name: row.name,
        sql: `ALTER TABLE ${qualified} ENABLE ROW LEVEL SECURITY;`,
        priority: PRIORITY.rowSecurity,
        deps: [id],
      });
    }
  }
  return { byOid, dumped, hooked };
}

function addTable(
  ctx: ReadContext,
  row: RelationRow,
  o: {
    id: string;
    qualified: string;
    byOid: Map<string, RelationRow>;
    dumped: Set<string>;
    checks: ConstraintRow[];
    identity: Map<string, RelationRow>;
  },
): DumpNode {
  const q = ctx.quoter;
  const inherits = !row.isPartition && row.parents.length > 0;
  const parentColumns = new Map<string, ColumnRow>();
  if (inherits) {
    for (const p of row.parents) {
      for (const c of o.byOid.get(p.oid)?.columns ?? []) parentColumns.set(c.name, c);
    }
  }
  const after: string[] = [];
  const lines: string[] = [];
  for (const c of row.columns) {
    if (inherits && !c.isLocal) {
      const parent = parentColumns.get(c.name);
      const col = `ALTER TABLE ONLY ${o.qualified} ALTER COLUMN ${q.ident(c.name)}`;
      if (c.default !== null && c.generated === "" && c.default !== parent?.default) {
        after.push(`${col} SET DEFAULT ${c.default};`);
      }
      if (c.notNull && !parent?.notNull) after.push(`${col} SET NOT NULL;`);
      continue;
    }
    lines.push(columnSql(ctx, c));
  }
  for (const check of o.checks) {
    if (!check.validated) continue;
    if (!row.isPartition && !check.isLocal) continue;
    lines.push(`    CONSTRAINT ${q.ident(check.name)} ${check.def}`);
    ctx.graph.alias(ref("pg_constraint", check.oid), o.id);
  }
  const foreign = row.kind === "f" ? row.foreign : null;
  const tableKind = foreign ? "FOREIGN TABLE" : "TABLE";
  let text = `CREATE ${row.persistence === "u" ? "UNLOGGED " : ""}${tableKind} ${o.qualified} (`;
  text += lines.length > 0 ? `\n${lines.join(",\n")}\n)` : "\n)";
  if (inherits) {
    text += `\nINHERITS (${row.parents.map((p) => q.qualified(p.schema, p.name)).join(", ")})`;
  }
  if (row.partitionKey) text += `\nPARTITION BY ${row.partitionKey}`;
  if (foreign) {
    text += `\nSERVER ${q.ident(foreign.server)}`;
    if (foreign.options?.length) text += `\n${optionsClause(foreign.options, q)}`;
  }
  const withText = withOptions(row.options);
  if (withText) text += `\n${withText}`;
  const deps = row.parents.map((p) => ref("pg_class", p.oid));
  const node = ctx.graph.add({
    id: o.id,
    section: "pre-data",
    kind: tableKind,
    schema: row.schema,
    name: row.name,
    sql: withAccessMethod(ctx, row, text + ";"),
    priority: PRIORITY.table,
    deps: row.isPartition ? [] : deps,
  });
  if (foreign) node.deps.add(ref("pg_foreign_server", foreign.serverOid));
  for (const c of row.columns) {
    if (c.identity === "") continue;
    const sequence = o.identity.get(`${row.oid}.${c.name}`);
    if (!sequence?.sequence) continue;
    ctx.graph.alias(ref("pg_class", sequence.oid), o.id);
    const kind = c.identity === "a" ? "ALWAYS" : "BY DEFAULT";
    after.push(
      `ALTER TABLE ${o.qualified} ALTER COLUMN ${q.ident(c.name)} ADD GENERATED ${kind} ` +
        `AS IDENTITY (\n    SEQUENCE NAME ${q.qualified(sequence.schema, sequence.name)}\n` +
        `${sequenceOptions(sequence.sequence, "    ").join("\n")}\n);`,
    );
    addComment(node, {
      what: `SEQUENCE ${q.qualified(sequence.schema, sequence.name)}`,
      label: `SEQUENCE ${sequence.name}`,
      comment: sequence.comment,
    });
    addAcl(ctx, node, {
      acl: sequence.acl,
      base: sequence.base,
      target: {
        type: "SEQUENCE",
        name: q.qualified(sequence.schema, sequence.name),
        owner: sequence.owner,
      },
      label: `SEQUENCE ${sequence.name}`,
    });
  }
  for (const c of row.columns) {
    after.push(...columnSettings(ctx, c, { qualified: o.qualified, foreign: foreign !== null }));
  }
  if (row.forceRowSecurity) after.push(`ALTER TABLE ONLY ${o.qualified} FORCE ROW LEVEL SECURITY;`);
  if (!foreign && (row.replicaIdentity === "n" || row.replicaIdentity === "f")) {
    const what = row.replicaIdentity === "n" ? "NOTHING" : "FULL";
    after.push(`ALTER TABLE ONLY ${o.qualified} REPLICA IDENTITY ${what};`);
  }
  if (after.length > 0) {
    node.after.push({
      section: "pre-data",
      kind: tableKind,
      schema: row.schema,
      name: row.name,
      sql: after.join("\n"),
    });
  }
  const parent = row.parents[0];
  if (row.isPartition && parent && o.dumped.has(parent.oid)) {
    ctx.graph.add({
      id: `attach:${row.oid}`,
      section: "pre-data",
      kind: "TABLE ATTACH",
      schema: row.schema,
      name: row.name,
      sql: `ALTER TABLE ONLY ${q.qualified(parent.schema, parent.name)} ATTACH PARTITION ` +
        `${o.qualified} ${row.partitionBound};`,
      priority: PRIORITY.tableAttach,
      deps: [o.id, ref("pg_class", parent.oid)],
    });
  }
  return node;
}

/**
 * A table or materialized view of an access method other than heap is created under
 * `SET default_table_access_method`, as pg_dump writes it (so a restore that drops table
 * access methods can still create it); the setting goes back to the restore's heap after it.
 */
function withAccessMethod(ctx: ReadContext, row: RelationRow, create: string): string {
  if (!row.accessMethod) return create;
  return `SET default_table_access_method = ${ctx.quoter.ident(row.accessMethod)};\n` +
    `${create}\nSET default_table_access_method = heap;`;
}

function addView(ctx: ReadContext, row: RelationRow, o: { id: string; qualified: string }) {
  const q = ctx.quoter;
  const def = (row.viewDef ?? "").trimEnd().replace(/;$/, "");
  const withText = withOptions(row.options);
  const isView = row.kind === "v";
  let text = `CREATE ${isView ? "VIEW" : "MATERIALIZED VIEW"} ${o.qualified}`;
  if (withText) text += ` ${withText}`;
  text += ` AS\n${def}${isView ? "" : "\n  WITH NO DATA"};`;
  if (!isView) text = withAccessMethod(ctx, row, text);
  const node = ctx.graph.add({
    id: o.id,
    section: "pre-data",
    kind: isView ? "VIEW" : "MATERIALIZED VIEW",
    schema: row.schema,
    name: row.name,
    sql: text,
    priority: PRIORITY.table,
  });
  if (isView) {
    const defaults = row.columns.filter((c) => c.default !== null).map((c) =>
      `ALTER VIEW ${o.qualified} ALTER COLUMN ${q.ident(c.name)} SET DEFAULT ${c.default};`
    );
    if (defaults.length > 0) {
      node.after.push({
        section: "pre-data",
        kind: "DEFAULT",
        schema: row.schema,
        name: row.name,
        sql: defaults.join("\n"),
      });
    }
  } else if (row.populated) {
    ctx.graph.add({
      id: `refresh:${row.oid}`,
      section: "post-data",
      kind: "MATERIALIZED VIEW DATA",
      schema: row.schema,
      name: row.name,
      // The refresh runs as the view's owner; with row security off, a policy on a table it
      // reads would make it fail instead of applying, so it is on for the refresh alone.
      sql: `SET row_security = on;\nREFRESH MATERIALIZED VIEW ${o.qualified};\n` +
        "SET row_security = off;",
      priority: PRIORITY.refresh,
      deps: [o.id],
    });
  }
  return node;
}

function addSequence(
  ctx: ReadContext,
  row: RelationRow,
  o: { id: string; qualified: string; byOid: Map<string, RelationRow>; dumped: Set<string> },
): DumpNode {
  const q = ctx.quoter;
  const s = row.sequence!;
  const unlogged = row.persistence === "u" ? "UNLOGGED " : "";
  const lines = [`CREATE ${unlogged}SEQUENCE ${o.qualified}`];
  if (s.type !== "bigint") lines.push(`    AS ${s.type}`);
  lines.push(...sequenceOptions(s, "    "));
  const node = ctx.graph.add({
    id: o.id,
    section: "pre-data",
    kind: "SEQUENCE",
    schema: row.schema,
    name: row.name,
    sql: lines.join("\n") + ";",
    priority: PRIORITY.sequence,
  });
  const owned = s.ownedBy;
  const table = owned ? o.byOid.get(owned.table) : undefined;
  if (owned && table && o.dumped.has(table.oid)) {
    ctx.graph.add({
      id: `ownedby:${row.oid}`,
      section: "pre-data",
      kind: "SEQUENCE OWNED BY",
      schema: row.schema,
      name: row.name,
      sql: `ALTER SEQUENCE ${o.qualified} OWNED BY ${q.qualified(table.schema, table.name)}.${
        q.ident(owned.column)
      };`,
      priority: PRIORITY.ownedBy,
      deps: [o.id, ref("pg_class", table.oid)],
    });
  }
  return node;
}
