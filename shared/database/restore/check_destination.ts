/**
 * Phase 2 of a restore: the destination inspected, and the restore refused, before writing
 * anything, when it would mix rows: tables it would create already exist, tables it would load
 * into are missing, or hold rows (unless `truncate`). A platform table the destination lacks
 * is skipped with a warning.
 *
 * @module
 */
import { type Connection, connectionError } from "../../pg/connect.ts";
import { tableLabel } from "../../pg/sql_text.ts";
import type { ManifestTable } from "../manifest.ts";
import { type Destination, inspectDestination } from "./destination.ts";
import { RestoreError } from "./error.ts";
import type { RestoreMode } from "./types.ts";

/** What the destination allows: the tables to load and the platform tables skipped. */
export interface DestinationCheck {
  destination: Destination;
  load: ManifestTable[];
  skipped: string[];
}

/** Inspects the destination and decides what loads; throws {@link RestoreError} to refuse. */
export async function checkDestination(
  connection: Connection,
  options: {
    mode: RestoreMode;
    tables: readonly ManifestTable[];
    /** Roles the backup's statements name. */
    roles: readonly string[];
    truncate: boolean;
    /** Whether any DDL statement runs (missing roles matter only then). */
    runsStatements: boolean;
    warn: (message: string) => void;
  },
): Promise<DestinationCheck> {
  let destination: Destination;
  try {
    destination = await inspectDestination(connection.sql, options.tables, options.roles);
  } catch (error) {
    throw connectionError(error, connection.label);
  }
  const { load, skipped } = decide(options.mode, options.tables, destination, options.truncate);
  for (const label of skipped) {
    options.warn(`Skipped table ${label}: it is a platform table the destination does not have`);
  }
  if (destination.missingRoles.length && options.runsStatements) {
    options.warn(
      `The destination lacks roles ${destination.missingRoles.join(", ")}: ` +
        "ownership stays with the restoring role, and grants or policies naming them are skipped",
    );
  }
  return { destination, load, skipped };
}

function decide(
  mode: RestoreMode,
  tables: readonly ManifestTable[],
  destination: Destination,
  truncate: boolean,
): { load: ManifestTable[]; skipped: string[] } {
  const load: ManifestTable[] = [];
  const skipped: string[] = [];
  const existing: string[] = [];
  const missing: string[] = [];
  const withRows: string[] = [];
  for (const table of tables) {
    const label = tableLabel(table);
    const state = destination.tables.get(label)!;
    if (table.managed) {
      if (!state.exists) skipped.push(label);
      else {
        if (state.hasRows && !truncate) withRows.push(label);
        load.push(table);
      }
      continue;
    }
    if (mode === "full") {
      if (state.exists) existing.push(label);
    } else if (!state.exists) {
      missing.push(label);
    } else if (state.hasRows && !truncate) {
      withRows.push(label);
    }
    load.push(table);
  }
  const list = (labels: string[]) =>
    labels.slice(0, 5).join(", ") + (labels.length > 5 ? ` and ${labels.length - 5} more` : "");
  if (existing.length) {
    throw new RestoreError(
      `The destination already has ${list(existing)}: restore into an empty database, ` +
        "or load rows into the existing tables with data-only",
      false,
    );
  }
  if (missing.length) {
    throw new RestoreError(
      `The destination has no table ${list(missing)}: restore the schema first ` +
        "(a full or schema-only restore)",
      false,
    );
  }
  if (withRows.length) {
    throw new RestoreError(
      `The destination's ${list(withRows)} already hold rows: empty them first, ` +
        "or ask for them to be truncated (--truncate)",
      false,
    );
  }
  return { load, skipped };
}
