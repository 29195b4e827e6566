/**
 * DDL sections of a backup: kept inline in the manifest when small, stored as blobs of NDJSON
 * (one statement per line; JSON escapes newlines, so lines are rows) when large.
 *
 * @module
 */
import { StreamHash } from "../repository/digest.ts";
import type { Repository } from "../repository/mod.ts";
import { IntegrityError } from "../util/errors.ts";
import type { ManifestSection, ManifestStatement } from "./manifest.ts";

/** Sections whose JSON is at most this many bytes stay inline in the manifest. */
export const INLINE_SECTION_BYTES = 256 * 1024;

/** Stores a section's statements (inline or as blobs) and returns its manifest entry. */
export async function storeSection(
  repository: Repository,
  statements: readonly ManifestStatement[],
  options: { signal?: AbortSignal; inlineLimit?: number } = {},
): Promise<ManifestSection> {
  const plain = statements.map(({ section, kind, schema, name, sql }) => ({
    section,
    kind,
    schema,
    name,
    sql,
  }));
  const lines = plain.map((statement) => JSON.stringify(statement) + "\n");
  const size = lines.reduce((total, line) => total + line.length, 0);
  if (size <= (options.inlineLimit ?? INLINE_SECTION_BYTES)) return { statements: plain };
  const encoder = new TextEncoder();
  async function* source() {
    for (const line of lines) yield encoder.encode(line);
  }
  const written = await repository.writeStream(source(), { split: "rows", signal: options.signal });
  return {
    count: lines.length,
    size: written.size,
    sha256: written.sha256,
    blobs: written.blobs,
  };
}

/** Every blob a section references (none when inline). */
export function sectionBlobs(
  section: ManifestSection,
): { id: string; size: number; storedSize: number }[] {
  return "blobs" in section ? section.blobs : [];
}

/** Reads a section's statements back, checking the stored stream's size, hash and count. */
export async function loadSection(
  repository: Repository,
  section: ManifestSection,
): Promise<ManifestStatement[]> {
  if ("statements" in section) return section.statements;
  const hash = new StreamHash();
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  for await (const piece of repository.readStream(section.blobs)) {
    hash.update(piece);
    size += piece.length;
    text += decoder.decode(piece, { stream: true });
  }
  text += decoder.decode();
  if (size !== section.size || hash.hex() !== section.sha256) {
    throw new IntegrityError(
      "A DDL section of the backup does not match its recorded size or hash",
    );
  }
  const statements = text.split("\n").filter(Boolean).map((line) =>
    JSON.parse(line) as ManifestStatement
  );
  if (statements.length !== section.count) {
    throw new IntegrityError(
      `A DDL section holds ${statements.length} statements, the manifest says ${section.count}`,
    );
  }
  return statements;
}
