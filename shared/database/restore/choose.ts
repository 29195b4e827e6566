/**
 * What a restore restores, decided from its options and the manifest before anything is read
 * or written: the mode, the tables whose rows load, and the DDL statements that run.
 *
 * @module
 */
import type { Repository } from "../../repository/mod.ts";
import { tableLabel } from "../../pg/sql_text.ts";
import type { DatabaseManifest, ManifestStatement, ManifestTable } from "../manifest.ts";
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
  const dataKinds = new Set(["SEQUENCE SET", "MATERIALIZED VIEW DATA"]);
  if (mode === "data-only") {
    return { pre: [], post: post.filter((statement) => dataKinds.has(statement.kind)) };
  }
  const pre = await loadSection(repository, manifest.sections.preData);
  if (mode === "schema-only") {
    return { pre, post: post.filter((statement) => !dataKinds.has(statement.kind)) };
  }
  return { pre, post };
}
