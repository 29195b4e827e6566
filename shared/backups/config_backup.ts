/**
 * Configuration backups: encrypted copies of env files (`.env`, `supabase/.env`…), stored
 * through the repository (content-addressed, compressed, encrypted) under manifest kind
 * `config`. Refused outright without encryption keys: these files hold the project's secrets.
 *
 * The manifest names the files and their sizes; it never holds their content.
 *
 * @module
 */
import { basename, isAbsolute, relative, resolve } from "node:path";
import { newBackupId } from "../database/manifest.ts";
import type { BlobRef, Repository } from "../repository/repository.ts";

/** The manifest kind of configuration backups. */
export const CONFIG_MANIFEST_KIND = "config";

/** One file of a configuration backup. */
export interface ConfigFileEntry {
  /** The name it is restored under: its relative path as given, or its base name. */
  name: string;
  size: number;
  /** SHA-256 of the whole file. */
  sha256: string;
  blobs: BlobRef[];
}

/** The manifest of a configuration backup. */
export interface ConfigManifest {
  formatVersion: 1;
  kind: "config";
  backupId: string;
  startedAt: string;
  finishedAt: string;
  /** The encryption key's id (never the key). */
  encryptionKeyId: string | null;
  files: ConfigFileEntry[];
}

/** A configuration backup needs encryption keys. */
export class EncryptionRequiredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EncryptionRequiredError";
  }
}

/** Options for {@link backupConfigFiles}. */
export interface ConfigBackupOptions {
  /** Paths of the files to back up. */
  files: readonly string[];
  /**
   * Files are named by their path relative to this folder (default: the working directory);
   * a file outside it is named by its base name.
   */
  baseDir?: string;
  /** The id of the key the repository encrypts with, recorded in the manifest. */
  keyId?: string;
  now?: () => Date;
  signal?: AbortSignal;
}

/**
 * Backs up env files, encrypted, and writes the manifest last.
 *
 * @throws {EncryptionRequiredError} when the repository does not encrypt (nothing is stored)
 * @throws {Deno.errors.NotFound} when a file does not exist
 */
export async function backupConfigFiles(
  repository: Repository,
  options: ConfigBackupOptions,
): Promise<ConfigManifest> {
  if (!repository.encrypted) {
    throw new EncryptionRequiredError(
      "Configuration backups must be encrypted: set SAUVEGARDE_ENCRYPTION_KEYS",
    );
  }
  if (options.files.length === 0) throw new RangeError("Name at least one file to back up");
  const now = options.now ?? (() => new Date());
  const started = now();
  const names = new Set<string>();
  const files: ConfigFileEntry[] = [];
  for (const path of options.files) {
    const name = entryName(path, options.baseDir ?? Deno.cwd());
    if (names.has(name)) throw new RangeError(`Two files would be stored as "${name}"`);
    names.add(name);
    using file = await Deno.open(path, { read: true });
    const written = await repository.writeStream(file.readable, {
      split: "bytes",
      signal: options.signal,
    });
    files.push({ name, size: written.size, sha256: written.sha256, blobs: written.blobs });
  }
  const manifest: ConfigManifest = {
    formatVersion: 1,
    kind: "config",
    backupId: newBackupId(started),
    startedAt: started.toISOString(),
    finishedAt: now().toISOString(),
    encryptionKeyId: options.keyId ?? null,
    files,
  };
  await repository.saveManifest(CONFIG_MANIFEST_KIND, manifest.backupId, manifest, {
    signal: options.signal,
  });
  return manifest;
}

/** A file of a configuration backup, read back and verified blob by blob. */
export async function readConfigFile(
  repository: Repository,
  backupId: string,
  name: string,
): Promise<ReadableStream<Uint8Array>> {
  const manifest = await repository.loadManifest<ConfigManifest>(CONFIG_MANIFEST_KIND, backupId);
  const entry = manifest.files?.find((file) => file.name === name);
  if (!entry) throw new RangeError(`Configuration backup ${backupId} has no file "${name}"`);
  return repository.readStream(entry.blobs);
}

function entryName(path: string, baseDir: string): string {
  const name = relative(resolve(baseDir), resolve(path));
  if (name === "" || isAbsolute(name) || name.startsWith("..")) return basename(path);
  return name.replaceAll("\\", "/");
}
