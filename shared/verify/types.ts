/**
 * The shapes verification works with: a check's result, the context every check reads, and
 * a check itself.
 *
 * @module
 */
import type postgres from "postgres";
import type { Config } from "../config/mod.ts";
import type { Repository } from "../repository/mod.ts";
import type { RunStore } from "../runs/mod.ts";
import type { StorageTarget } from "../targets/target.ts";

/** A check's verdict. `warn` alone keeps verification passing; `fail` does not. */
export type CheckStatus = "ok" | "warn" | "fail";

/** The two kinds of backup verification looks at. */
export type BackupKind = "database" | "storage";

/** What one check found. */
export interface CheckResult {
  /** Stable id, the alert's dedupe key: "freshness.database", "integrity.storage", … */
  id: string;
  /** Short human name: "Database freshness". */
  name: string;
  status: CheckStatus;
  /** One sentence a person understands, with no trailing period. */
  summary: string;
  /** What a person should do when it is not ok. */
  nextStep?: string;
  /** Figures behind the summary, for the dashboard and debugging (never secrets). */
  details?: Record<string, unknown>;
  /** How long the check took. */
  ms?: number;
}

/** A configured target, opened, with what 3-2-1 needs to know about it. */
export interface VerifyTarget {
  name: string;
  /** The target URL (no secrets: credentials never travel in it). */
  url: string;
  target: StorageTarget;
  repository: Repository;
  /** "file", or "s3@<endpoint host>": two different ones are two kinds of storage. */
  medium: string;
  offsite: boolean;
}

/** Tunables of one verification (defaults from the configuration). */
export interface VerifyOptions {
  /** Blobs read back and re-hashed per backup and target: a count, or "all". */
  sample: number | "all";
  /** Which window of blobs the sample takes (default: hours since the epoch, so it rotates). */
  rotation?: number;
  /** A live run whose heartbeat is older than this is stuck (default 10 min). */
  staleAfterMs: number;
  /** How far back failures count as recent (default 24 h). */
  failureWindowMs: number;
  /** Latest size outside [median / factor, median × factor] is an anomaly (default 2). */
  sizeFactor: number;
  /** Succeeded runs the median is taken over (default 20). */
  sizeHistory: number;
  /** At most this many blobs are checked with one request each; above, the target is listed. */
  statLimit: number;
  /** Requests in flight per target (default 16). */
  concurrency: number;
}

/** What every check can read. Expensive shared facts are computed once, lazily. */
export interface VerifyContext {
  sql: postgres.Sql;
  store: RunStore;
  config: Config;
  targets: VerifyTarget[];
  now: Date;
  options: VerifyOptions;
  /** Memoises a shared computation for the duration of one verification. */
  once<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

/** A check: one concern, possibly several results (one per kind or target). */
export interface Check {
  /** Ids of the results it returns, for reports (prefix match: "freshness."). */
  readonly id: string;
  run(context: VerifyContext): Promise<CheckResult[]>;
}
