/**
 * Turns a backup into one plain SQL script — pre-data, every table as `COPY … FROM stdin` with
 * its rows, the large objects' contents as `lo_put` calls (pg_dump's plain format writes
 * `lowrite`s), post-data — that `psql` restores into an empty database with no Sauvegarde code
 * on the restoring side (the way out if this tool is ever unavailable). Streams: the rows go
 * from the verified blobs straight to the writer, never whole in memory.
 *
 * @module
 */
import { renderScript } from "./catalog/mod.ts";
import type { SchemaStatement } from "./catalog/model.ts";
import { loadDatabaseManifest, type ManifestTable } from "./manifest.ts";
import { loadSection } from "./sections.ts";
import { largeObjectPieces } from "../pg/large_objects.ts";
import { columnList, qualifiedName, tableLabel } from "../pg/sql_text.ts";
import { type Repository, requireAuthenticated } from "../repository/mod.ts";

/**
 * Writes the script for `backupId` ("latest" allowed) to `out`; returns the backup id. A
 * backup whose manifest is not authenticated is refused unless `allowUnauthenticated`: the
 * script is SQL someone will run.
 */
export async function exportSql(
  repository: Repository,
  options: {
    backupId: string;
    out: WritableStream<Uint8Array>;
    allowUnauthenticated?: boolean;
    signal?: AbortSignal;
  },
): Promise<string> {
  const manifest = await loadDatabaseManifest(repository, options.backupId);
  requireAuthenticated(manifest, {
    what: `Database backup ${manifest.backupId}`,
    allowUnauthenticated: options.allowUnauthenticated,
  });
  const writer = options.out.getWriter();
  const encoder = new TextEncoder();
  const write = (text: string) => writer.write(encoder.encode(text));
  try {
    const pre = await loadSection(repository, manifest.sections.preData);
    const post = await loadSection(repository, manifest.sections.postData);
    await write(`-- Sauvegarde backup ${manifest.backupId} of ${manifest.source.database}\n`);
    await write("\\set ON_ERROR_STOP on\n\n");
    await write(renderScript(pre as SchemaStatement[]) + "\n");
    for (const table of inLoadOrder(manifest.tables)) {
      await write(
        `\nCOPY ${qualifiedName(table.schema, table.name)} (${
          columnList(table.columns)
        }) FROM stdin;\n`,
      );
      const reader = repository.readStream(table.blobs, { signal: options.signal }).getReader();
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        await writer.write(value);
      }
      await write("\\.\n");
    }
    if (manifest.largeObjects) {
      const stream = repository.readStream(manifest.largeObjects.blobs, { signal: options.signal });
      await write("\nBEGIN;\n");
      // Each field was checked (digits, digits, base64) before it becomes part of a statement.
      for await (const piece of largeObjectPieces(stream)) {
        await write(
          `SELECT pg_catalog.lo_put('${piece.oid}', ${piece.offset}, ` +
            `pg_catalog.decode('${piece.data}', 'base64'));\n`,
        );
      }
      await write("COMMIT;\n");
    }
    await write("\n" + renderScript(post as SchemaStatement[]) + "\n");
    await writer.close();
    return manifest.backupId;
  } catch (error) {
    await writer.abort(error).catch(() => {});
    throw error;
  }
}

/**
 * The tables in the manifest's order, except that an extension's configuration table comes
 * after the configuration tables its foreign keys reference (`loadAfter`): psql loads with
 * those keys checked. Tables caught in a cycle of such keys keep the manifest's order.
 */
function inLoadOrder(tables: readonly ManifestTable[]): ManifestTable[] {
  const labels = new Set(tables.map((table) => tableLabel(table)));
  const placed = new Set<string>();
  const out: ManifestTable[] = [];
  let left = [...tables];
  while (left.length > 0) {
    const ready = left.filter((table) =>
      (table.extension?.loadAfter ?? []).every((other) =>
        placed.has(other) || !labels.has(other) || other === tableLabel(table)
      )
    );
    const next = ready.length > 0 ? ready : left;
    for (const table of next) placed.add(tableLabel(table));
    out.push(...next);
    left = left.filter((table) => !next.includes(table));
  }
  return out;
}
