/**
 * The backup as a scratch database can take it. Some extensions live in one database of a
 * server only — pg_cron in the database its server names (`cron.database_name`), which on
 * Supabase is `postgres` — so their `CREATE EXTENSION` cannot run in a scratch database beside
 * it. This view of the repository serves the backup's manifest with those statements left out
 * (the pre-data section inline, read and checked from the real one); everything else —
 * blobs, tables, the other statements — is the repository's own. What was left out is reported.
 *
 * @module
 */
import { DATABASE_MANIFEST_KIND, type DatabaseManifest } from "../database/manifest.ts";
import { loadSection } from "../database/sections.ts";
import { carryAuthentication, type Repository } from "../repository/mod.ts";

/** Extensions that exist in one database of a server only. */
export const SINGLE_DATABASE_EXTENSIONS: readonly string[] = ["pg_cron"];

/** A repository view for restoring `manifest` into a scratch database. */
export interface ScratchView {
  repository: Repository;
  /** Statements left out, like "EXTENSION pg_cron". */
  leftOut: string[];
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
  if (kept.length === preData.length) return { repository, leftOut: [] };
  const leftOut = preData.filter((statement) => left(statement.kind, statement.name))
    .map((statement) => `${statement.kind} ${statement.name}`);
  const served: DatabaseManifest = {
    ...manifest,
    sections: { ...manifest.sections, preData: { statements: kept } },
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
  return { repository: view, leftOut };
}
