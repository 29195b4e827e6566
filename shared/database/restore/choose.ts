/**
 * What a restore restores, decided from its options and the manifest before anything is read
 * or written: the mode, the tables whose rows load, and the DDL statements that run.
 *
 * @module
 */
import type { Repository } from "../../repository/mod.ts";
import { tableLabel } from "../../pg/sql_text.ts";
import { isLargeObjectStatement } from "../catalog/large_objects.ts";
import type {
  DatabaseManifest,
  ManifestLargeObjects,
  ManifestStatement,
  ManifestTable,
} from "../manifest.ts";
import { loadSection } from "../sections.ts";
import { RestoreError } from "./error.ts";
import type { RestoreDatabaseOptions, RestoreMode } from "./types.ts";

/** The restore's mode; refuses options that contradict each other. */
export function restoreMode(
  options: Pick<RestoreDatabaseOptions, "schemaOnly" | "dataOnly" | "tables">,
): RestoreMode {
  if (options.schemaOnly && options.dataOnly) {
    throw new RestoreError("Choose at most one of schema-only and data-only", false);
  }
  if (options.schemaOnly && options.tables?.length) {
    throw new RestoreError("Choosing tables restores their data; it cannot be schema-only", false);
  }
  return options.schemaOnly
    ? "schema-only"
    : options.dataOnly
    ? "data-only"
    : options.tables?.length
    ? "tables"
    : "full";
}

/** The backup's tables whose rows the restore loads; refuses names the backup lacks. */
export function chooseTables(
  manifest: DatabaseManifest,
  mode: RestoreMode,
  names?: string[],
): ManifestTable[] {
  if (mode === "schema-only") return [];
  if (manifest.options.scope.schemaOnly && mode !== "full") {
    throw new RestoreError(`Backup ${manifest.backupId} holds no data (it is schema-only)`, false);
  }
  if (mode !== "tables") return manifest.tables;
  const byLabel = new Map(manifest.tables.map((table) => [tableLabel(table), table]));
  const unknown = names!.filter((name) => !byLabel.has(name));
  if (unknown.length) {
    throw new RestoreError(
      `Backup ${manifest.backupId} has no table ${unknown.join(", ")} ` +
        "(name tables as schema.table; partitioned tables by their partitions)",
      false,
    );
  }
  return [...new Set(names)].map((name) => byLabel.get(name)!);
}

/**
 * The large objects' contents the restore writes: a full or data-only restore's (their
 * definitions are among its statements), none for schema-only or chosen tables.
 */
export function chooseLargeObjects(
  manifest: DatabaseManifest,
  mode: RestoreMode,
): ManifestLargeObjects | undefined {
  return mode === "full" || mode === "data-only" ? manifest.largeObjects : undefined;
}

/** The pre-data and post-data statements the restore runs, read from the repository. */
export async function chooseStatements(
  repository: Repository,
  manifest: DatabaseManifest,
  mode: RestoreMode,
): Promise<{ pre: ManifestStatement[]; post: ManifestStatement[] }> {
  if (mode === "tables") return { pre: [], post: [] };
  if (mode === "schema-only" && manifest.options.scope.dataOnly) {
    throw new RestoreError(`Backup ${manifest.backupId} holds no schema (it is data-only)`, false);
  }
  const post = await loadSection(repository, manifest.sections.postData);
  const pre = await loadSection(repository, manifest.sections.preData);
  // Large objects, definitions included, are data (as pg_dump has them); so is telling pg_cron
  // its restored jobs are there (`catalog/cron_reload.ts`).
  const dataKinds = new Set(["SEQUENCE SET", "MATERIALIZED VIEW DATA", "CRON RELOAD"]);
  const isData = (statement: ManifestStatement) =>
    dataKinds.has(statement.kind) || isLargeObjectStatement(statement);
  if (mode === "data-only") {
    return { pre: pre.filter(isLargeObjectStatement), post: post.filter(isData) };
  }
  if (mode === "schema-only") {
    return {
      pre: pre.filter((statement) => !isLargeObjectStatement(statement)),
      post: post.filter((statement) => !isData(statement)),
    };
  }
  return { pre, post };
}
