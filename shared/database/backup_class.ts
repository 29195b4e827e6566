/**
 * A database backup's class: what it can stand in for. Only a `full` backup is the project's
 * backup: the one "latest" means for restores, export, restore tests, recovery, verification,
 * replication and the retention slots.
 *
 * - `full`: the whole project database (purpose `backup`, no scope restriction).
 * - `partial`: schema-only, data-only, or limited to chosen schemas or tables.
 * - `incomplete`: the database holds objects the backup could not reproduce (its warnings name
 *   them), taken anyway because the operator allowed it (`--allow-incomplete`). By default such
 *   a backup is an error instead: a backup that succeeds restores.
 * - `safety`: taken automatically before a restore overwrote a database.
 * - `other-database`: a backup of a database that is not the project's (the CLI's `--db`
 *   naming another database than `SUPABASE_DB_URL`), recorded when it is taken.
 *
 * New manifests record it (`class`); one without it (written before classes) derives it from
 * its purpose and scope, and counts as the project's.
 *
 * @module
 */
import type { DumpScope } from "./catalog/model.ts";

/** The classes, most telling first (a safety backup of another database is `safety`). */
export const BACKUP_CLASSES = [
  "full",
  "partial",
  "incomplete",
  "safety",
  "other-database",
] as const;

/** A database backup's class. */
export type BackupClass = (typeof BACKUP_CLASSES)[number];

/** Whether a value is a backup class. */
export function isBackupClass(value: unknown): value is BackupClass {
  return typeof value === "string" && (BACKUP_CLASSES as readonly string[]).includes(value);
}

/** Whether a scope leaves anything of the database out (schema- or data-only, or a list). */
export function isPartialScope(scope: DumpScope | undefined | null): boolean {
  if (!scope || typeof scope !== "object") return false;
  if (scope.schemaOnly === true || scope.dataOnly === true) return true;
  return (["includeSchemas", "excludeSchemas", "includeTables", "excludeTables"] as const)
    .some((key) => Array.isArray(scope[key]) && scope[key]!.length > 0);
}

/** What a backup's class follows from. */
export interface ClassFacts {
  purpose: "backup" | "safety";
  scope?: DumpScope;
  /** The backed-up database is not the project's. */
  otherDatabase?: boolean;
  /** The backup could not reproduce everything in its scope (its warnings say what). */
  incomplete?: boolean;
}

/** The class that follows from a backup's purpose, scope and database. */
export function deriveBackupClass(facts: ClassFacts): BackupClass {
  if (facts.purpose === "safety") return "safety";
  if (facts.otherDatabase) return "other-database";
  if (facts.incomplete) return "incomplete";
  return isPartialScope(facts.scope) ? "partial" : "full";
}

/**
 * A manifest's class: the recorded one, else derived from its purpose and scope. A manifest
 * older than classes that carries warnings was taken when warnings were only notes, and is
 * `incomplete`.
 */
export function backupClassOf(
  manifest: {
    class?: BackupClass;
    purpose: "backup" | "safety";
    options: { scope: DumpScope };
    warnings?: readonly string[];
  },
): BackupClass {
  const incomplete = (manifest.warnings?.length ?? 0) > 0;
  // Before incomplete backups were refused, a backup with warnings was still recorded full.
  if (manifest.class === "full" && incomplete) return "incomplete";
  return manifest.class ??
    deriveBackupClass({ purpose: manifest.purpose, scope: manifest.options.scope, incomplete });
}

/**
 * The class of a database manifest read as plain JSON, without validating it (retention's
 * catalog and Storage's pairing read every manifest loosely). A value that says nothing, such
 * as a manifest older than purposes, is `full`.
 */
export function looseBackupClass(value: unknown): BackupClass {
  if (value === null || typeof value !== "object") return "full";
  const record = value as Record<string, unknown>;
  const incomplete = Array.isArray(record.warnings) && record.warnings.length > 0;
  if (record.class === "full" && incomplete) return "incomplete";
  if (isBackupClass(record.class)) return record.class;
  const options = record.options as { scope?: DumpScope } | undefined;
  return deriveBackupClass({
    purpose: record.purpose === "safety" ? "safety" : "backup",
    scope: options && typeof options === "object" ? options.scope : undefined,
    incomplete,
  });
}

/** The class recorded in a `database` run's details, else derived from its requested scope. */
export function runBackupClass(details: Record<string, unknown>): BackupClass {
  if (isBackupClass(details.class)) return details.class;
  return isPartialScope(details.scope as DumpScope | undefined) ? "partial" : "full";
}

/** What a `--backup` value asks for: the newest backup of a class, or one id. */
export type BackupChoice = { latest: BackupClass } | { id: string };

/**
 * Reads `latest` (the newest full backup), `latest:<class>` (the newest of that class) or an id.
 *
 * @throws {RangeError} for `latest:` followed by something that is not a class
 */
export function parseBackupChoice(text: string): BackupChoice {
  if (text === "latest") return { latest: "full" };
  if (!text.startsWith("latest:")) return { id: text };
  const wanted = text.slice("latest:".length);
  if (!isBackupClass(wanted)) {
    throw new RangeError(
      `"${text}" names no backup class: use latest, or latest: followed by one of ${
        BACKUP_CLASSES.join(", ")
      }`,
    );
  }
  return { latest: wanted };
}

/**
 * Whether two PostgreSQL URLs name the same database: same host (case aside), port (5432 by
 * default) and database name (the user's by default, as libpq does). Supabase's pooler names
 * a project by its user (`postgres.<ref>`) and its direct host by name (`db.<ref>.…`): the same
 * project ref and database name is the same database. A URL that does not parse is taken as the
 * same, so a backup is never demoted on a guess.
 */
export function sameDatabase(a: string, b: string): boolean {
  const one = databaseIdentity(a);
  const two = databaseIdentity(b);
  if (!one || !two) return true;
  if (one.ref && two.ref) return one.ref === two.ref && one.database === two.database;
  return one.host === two.host && one.port === two.port && one.database === two.database;
}

interface DatabaseIdentity {
  host: string;
  port: string;
  database: string;
  /** A Supabase project ref, when the URL shows one. */
  ref?: string;
}

function databaseIdentity(url: string): DatabaseIdentity | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) return undefined;
  const host = parsed.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const user = decodeURIComponent(parsed.username);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || user || "postgres";
  const ref = /^db\.([a-z0-9]+)\.supabase\.co$/.exec(host)?.[1] ??
    (/\.pooler\.supabase\.com$/.test(host) ? /^[^.]+\.([a-z0-9]+)$/.exec(user)?.[1] : undefined);
  return { host, port: parsed.port || "5432", database, ...(ref ? { ref } : {}) };
}
