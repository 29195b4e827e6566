/**
 * The backup as a scratch database can take it. Some extensions live in one database of a
 * server only — pg_cron in the database its server names (`cron.database_name`), which on
 * Supabase is `postgres` — so their `CREATE EXTENSION` cannot run in a scratch database beside
 * it. This view of the repository serves the backup's manifest with those statements left out
 * (the pre-data section inline, read and checked from the real one); everything else —
 * blobs, tables, the other statements — is the repository's own. An extension left out takes
 * its configuration with it: its configuration tables' rows, and the post-data statements of
 * the schemas those tables are in (pg_cron's schema is its own: its sequences' `SEQUENCE SET`s,
 * the `CRON RELOAD`). What was left out is reported.
 *
 * @module
 */
import {
  DATABASE_MANIFEST_KIND,
  type DatabaseManifest,
  type ManifestStatement,
  type ManifestTable,
} from "../database/manifest.ts";
import { loadSection } from "../database/sections.ts";
import { carryAuthentication, type Repository } from "../repository/mod.ts";

/** Extensions that exist in one database of a server only. */
export const SINGLE_DATABASE_EXTENSIONS: readonly string[] = ["pg_cron"];

/** A repository view for restoring `manifest` into a scratch database. */
export interface ScratchView {
  repository: Repository;
  /** Statements left out, like "EXTENSION pg_cron". */
  leftOut: string[];
  /** The pre-data statements the scratch database is given (what it must then hold). */
  preData: ManifestStatement[];
  /** The post-data statements it is given. */
  postData: ManifestStatement[];
  /** The tables whose rows it is given. */
  tables: ManifestTable[];
}

/** Builds the view; the repository itself when nothing needs leaving out. */
export async function scratchView(
  repository: Repository,
  manifest: DatabaseManifest,
): Promise<ScratchView> {
  const preData = await loadSection(repository, manifest.sections.preData);
  const left = (kind: string, name: string) =>
    kind === "EXTENSION" && SINGLE_DATABASE_EXTENSIONS.includes(name);
  const kept = preData.filter((statement) => !left(statement.kind, statement.name));
  const postData = await loadSection(repository, manifest.sections.postData);
  if (kept.length === preData.length) {
    return { repository, leftOut: [], preData, postData, tables: manifest.tables };
  }
  const leftOut = preData.filter((statement) => left(statement.kind, statement.name))
    .map((statement) => `${statement.kind} ${statement.name}`);
  const gone = (table: ManifestTable) =>
    table.extension !== undefined && SINGLE_DATABASE_EXTENSIONS.includes(table.extension.name);
  const tables = manifest.tables.filter((table) => !gone(table));
  const configSchemas = new Set(manifest.tables.filter(gone).map((table) => table.schema));
  const keptPost = postData.filter((statement) => !configSchemas.has(statement.schema ?? ""));
  const served: DatabaseManifest = {
    ...manifest,
    sections: {
      preData: { statements: kept },
      postData: keptPost.length === postData.length
        ? manifest.sections.postData
        : { statements: keptPost },
    },
    tables,
  };
  const view = new Proxy(repository, {
    get(target, property) {
      if (property === "loadManifest") {
        return (kind: string, id: string) =>
          kind === DATABASE_MANIFEST_KIND && id === manifest.backupId
            ? Promise.resolve(carryAuthentication(manifest, structuredClone(served)))
            : target.loadManifest(kind, id);
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { repository: view, leftOut, preData: kept, postData: keptPost, tables };
}
