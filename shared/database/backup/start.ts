/**
 * The first phase of a database backup: the schema read inside the exported snapshot, the
 * DDL sections stored, and the tables to copy listed (largest first), each with its ordered key
 * when it has one.
 *
 * @module
 */
import type { Repository } from "../../repository/mod.ts";
import type { ExportedSnapshot } from "../../pg/exported_snapshot.ts";
import type { DatabaseSchema, DumpScope, TableToCopy } from "../catalog/model.ts";
import { readSchema } from "../catalog/mod.ts";
import { newBackupId } from "../manifest.ts";
import { storeSection } from "../sections.ts";
import { refuseIncomplete } from "./incomplete.ts";
import { byProgressThenSize } from "./order.ts";
import type { BackupRunState, PendingTable } from "./state.ts";

/** Options for {@link startBackupRun}. */
export interface StartBackupRunOptions {
  scope?: DumpScope;
  purpose?: "backup" | "safety";
  label?: string;
  /** The database is not the project's: the backup's class is `other-database`. */
  otherDatabase?: boolean;
  /** Id of the key blobs are encrypted with (never the key); null or omitted when none. */
  encryptionKeyId?: string | null;
  /**
   * Record a backup that cannot reproduce everything (class `incomplete`) instead of failing
   * with {@link IncompleteBackupError}.
   */
  allowIncomplete?: boolean;
  backupId?: string;
  signal?: AbortSignal;
}

/** Reads the schema inside `snapshot`, stores the DDL sections, and lists the tables to copy. */
export async function startBackupRun(
  snapshot: ExportedSnapshot,
  repository: Repository,
  options: StartBackupRunOptions = {},
): Promise<BackupRunState> {
  const startedAt = new Date().toISOString();
  const scope = normaliseScope(options.scope ?? {});
  const schema = await readSchema(snapshot.coordinator, scope);
  // Before anything is stored: a backup that would not restore is an error by default.
  refuseIncomplete(schema.warnings, options);
  options.signal?.throwIfAborted();
  const pre = schema.statements.filter((statement) => statement.section === "pre-data");
  const post = schema.statements.filter((statement) => statement.section === "post-data");
  const [preData, postData] = await Promise.all([
    storeSection(repository, pre, { signal: options.signal }),
    storeSection(repository, post, { signal: options.signal }),
  ]);
  return {
    stateVersion: 1,
    backupId: options.backupId ?? newBackupId(),
    purpose: options.purpose ?? "backup",
    ...(options.label === undefined ? {} : { label: options.label }),
    ...(options.otherDatabase ? { otherDatabase: true } : {}),
    startedAt,
    scope,
    compression: repository.compression,
    encryptionKeyId: options.encryptionKeyId ?? (repository.encrypted ? "active" : null),
    source: {
      serverVersion: schema.serverVersion,
      database: schema.database,
      isSupabase: schema.isSupabase,
    },
    snapshotTime: snapshot.time,
    snapshots: 1,
    lastSnapshotId: snapshot.id,
    roles: [...schema.roles],
    warnings: [...schema.warnings],
    sections: { preData, postData },
    pending: orderTables(schema.tables, largeObjectsEntry(schema, snapshot.id)),
    done: [],
    reusedBlobs: 0,
  };
}

function orderTables(
  tables: readonly TableToCopy[],
  largeObjects: PendingTable | undefined,
): PendingTable[] {
  return tables.map((table): PendingTable => ({
    schema: table.schema,
    name: table.name,
    columns: [...table.columns],
    kind: table.kind,
    managed: table.managed,
    estimatedBytes: table.estimatedBytes,
    estimatedRows: table.estimatedRows,
    ...(table.key && !table.extension ? { key: table.key.map((column) => ({ ...column })) } : {}),
    ...(table.extension
      ? { extension: { ...table.extension, loadAfter: [...table.extension.loadAfter] } }
      : {}),
  })).concat(largeObjects ? [largeObjects] : []).sort(byProgressThenSize);
}

/**
 * The large objects' contents as an entry to copy, when the schema has any: named like the
 * catalog that holds them (in messages and progress), its size their base64 text's.
 */
function largeObjectsEntry(schema: DatabaseSchema, snapshotId: string): PendingTable | undefined {
  const census = schema.largeObjects;
  if (!census) return undefined;
  return {
    schema: "pg_catalog",
    name: "pg_largeobject",
    columns: ["oid", "offset", "data"],
    kind: "table",
    managed: false,
    estimatedBytes: Math.ceil(census.bytes * 4 / 3),
    estimatedRows: census.count,
    largeObjects: { ...census, snapshotId },
  };
}

/** The scope as recorded: lists deduplicated and sorted, empty ones and false flags left out. */
function normaliseScope(scope: DumpScope): DumpScope {
  const out: DumpScope = {};
  for (
    const key of ["includeSchemas", "excludeSchemas", "includeTables", "excludeTables"] as const
  ) {
    if (scope[key]?.length) out[key] = [...new Set(scope[key])].sort();
  }
  if (scope.schemaOnly) out.schemaOnly = true;
  if (scope.dataOnly) out.dataOnly = true;
  return out;
}
