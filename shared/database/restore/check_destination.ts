/**
 * Phase 2 of a restore: the destination inspected, and the restore refused, before writing
 * anything, when it would mix rows: tables it would create already exist, tables it would load
 * into are missing, or hold rows (unless `truncate`), or a large object it would create exists.
 * A platform table the destination lacks is skipped with a warning. An extension's configuration
 * table may exist (its extension may), and may hold rows when its extension's condition says
 * which of them are the backup's.
 *
 * @module
 */
import { type Connection, connectionError } from "../../pg/connect.ts";
import { tableLabel } from "../../pg/sql_text.ts";
import type { ManifestTable } from "../manifest.ts";
import { type Destination, inspectDestination } from "./destination.ts";
import { RestoreError } from "./error.ts";
import { refuseExistingLargeObjects } from "./large_objects.ts";
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
    /** Oids of the large objects the restore creates: none may exist already. */
    largeObjects?: readonly string[];
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
  await refuseExistingLargeObjects(connection.sql, options.largeObjects ?? []);
  for (const label of skipped) {
    options.warn(`Skipped table ${label}: it is a platform table the destination does not have`);
  }
  if (destination.missingRoles.length && options.runsStatements) {
    options.warn(
      `The destination lacks roles ${destination.missingRoles.join(", ")}: ` +
        "ownership stays with the restoring role, and grants, policies or user mappings naming " +
        "them are skipped",
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
    if (table.extension) {
      // Created by its extension (pre-data, in a full restore), whose own rows it may hold:
      // the backup's rows are appended, as pg_dump's are. Rows of a table the extension set no
      // condition on are the database's, as in any table.
      if (!state.exists && mode !== "full") missing.push(label);
      else if (state.hasRows && !truncate && table.extension.condition === "") {
        withRows.push(label);
      }
      load.push(table);
      continue;
    }
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
