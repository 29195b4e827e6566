/**
 * The run state of a database backup: plain JSON, checkpointed between steps, and what a
 * backup reports while it runs.
 *
 * The state is additive: a state written before slices existed (no `key`, `estimatedRows` or
 * `slices` on its pending tables) is read as tables to copy whole.
 *
 * @module
 */
import type { BlobRef } from "../../repository/mod.ts";
import type {
  DumpScope,
  ExtensionConfigTable,
  KeyColumn,
  LargeObjectCensus,
} from "../catalog/model.ts";
import type { ManifestLargeObjects, ManifestSection, ManifestTable } from "../manifest.ts";

/** A table still to copy. */
export interface PendingTable {
  schema: string;
  name: string;
  columns: string[];
  kind: "table" | "partition";
  managed: boolean;
  estimatedBytes: number;
  /** From pg_class.reltuples (0 when unknown); absent in states from before slices. */
  estimatedRows?: number;
  /** The key the table can be copied in slices by; absent: always copied whole. */
  key?: KeyColumn[];
  /** Slices copied so far, in key order: the next one starts after the last one's `through`. */
  slices?: CopiedSlice[];
  /** An extension's configuration table: only the rows its condition selects are copied. */
  extension?: ExtensionConfigTable;
  /**
   * Not a table: the large objects' contents (`pg/large_objects.ts`), as the schema was read
   * with them (a copy in another snapshot first checks they are still the same objects).
   */
  largeObjects?: PendingLargeObjects;
}

/** The large objects the DDL creates, as of the snapshot the schema was read in. */
export interface PendingLargeObjects extends LargeObjectCensus {
  /** The snapshot the schema was read in. */
  snapshotId: string;
}

/** A slice of a table copied by an earlier step or earlier in this one. */
export interface CopiedSlice {
  /** The key of the slice's last row (text per key column); null: it ran to the table's end. */
  through: string[] | null;
  rows: number;
  /** Raw COPY text bytes. */
  bytes: number;
  /** SHA-256 of the slice's COPY text. */
  sha256: string;
  storedBytes: number;
  /** The slice's blobs, in stream order. */
  blobs: BlobRef[];
  /** The time of the snapshot the slice was read in. */
  snapshotTime: string;
}

/** Everything a backup run has done so far; plain JSON, safe to checkpoint (no secrets). */
export interface BackupRunState {
  stateVersion: 1;
  backupId: string;
  purpose: "backup" | "safety";
  label?: string;
  /** The database is not the project's (`backup_class.ts`): the backup is `other-database`. */
  otherDatabase?: boolean;
  startedAt: string;
  scope: DumpScope;
  compression: "zstd" | "gzip" | "none";
  encryptionKeyId: string | null;
  source: { serverVersion: string; database: string; isSupabase: boolean };
  /** Time of the first snapshot. */
  snapshotTime: string;
  /** How many snapshots tables were copied in so far. */
  snapshots: number;
  /** The last snapshot used (to count new ones). */
  lastSnapshotId: string;
  roles: string[];
  warnings: string[];
  sections: { preData: ManifestSection; postData: ManifestSection };
  /** Tables still to copy, largest first. */
  pending: PendingTable[];
  /** Tables copied, with their blobs. */
  done: ManifestTable[];
  /** The large objects' contents, once copied (until then a pending entry). */
  largeObjects?: ManifestLargeObjects;
  /** Blobs that were already stored when written. */
  reusedBlobs: number;
}

/** Progress of a backup, reported while it runs. */
export interface BackupProgress {
  phase: "schema" | "tables" | "manifest";
  tablesDone: number;
  tablesTotal: number;
  /** Rows copied so far (tables in flight included). */
  rows: number;
  /** Raw COPY bytes copied so far (tables in flight included). */
  bytes: number;
  /** The table that just finished, if any. */
  table?: string;
}

/** A step failed; `state` holds what was finished before the failure (safe to resume from). */
export class BackupStepError extends Error {
  constructor(message: string, readonly state: BackupRunState, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackupStepError";
  }
}
