/**
 * Code backups: the whole git repository (every ref, all history) as one `git bundle`, stored
 * as blobs under manifest kind `code`. The bundle is checked with `git bundle verify` before
 * it is stored, and can be checked again once loaded back ({@link restoreCodeBundle}).
 *
 * Runs `git` as a subprocess: for the CLI and the worker, not for Edge Functions.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { newBackupId } from "../database/manifest.ts";
import { StreamHash } from "../repository/digest.ts";
import type { BlobRef, Repository } from "../repository/repository.ts";
import { IntegrityError } from "../util/errors.ts";

/** The manifest kind of code backups. */
export const CODE_MANIFEST_KIND = "code";

/** The manifest of a code backup. */
export interface CodeManifest {
  formatVersion: 1;
  kind: "code";
  backupId: string;
  startedAt: string;
  finishedAt: string;
  /** The repository's folder name (not its path on this machine). */
  repository: string;
  /** The refs the bundle holds, as `git bundle list-heads` prints them. */
  refs: Array<{ name: string; commit: string }>;
  bundle: { size: number; sha256: string; blobs: BlobRef[] };
}

/** `git` failed. */
export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GitError";
  }
}

/** Options for {@link backupCode}. */
export interface CodeBackupOptions {
  /** The git repository (default: the working directory). */
  repo?: string;
  now?: () => Date;
  signal?: AbortSignal;
}

/**
 * Bundles a git repository (`git bundle create --all`), verifies the bundle, stores it and
 * writes the manifest last.
 *
 * @throws {GitError} when git fails (not a repository, no commits, a bad bundle)
 */
export async function backupCode(
  repository: Repository,
  options: CodeBackupOptions = {},
): Promise<CodeManifest> {
  const repo = resolve(options.repo ?? ".");
  const now = options.now ?? (() => new Date());
  const started = now();
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-code-" });
  try {
    const bundle = join(dir, "repository.bundle");
    await git(["bundle", "create", "--quiet", bundle, "--all"], { cwd: repo });
    await verifyBundle(bundle);
    const refs = await listHeads(bundle, repo);
    using file = await Deno.open(bundle, { read: true });
    const written = await repository.writeStream(file.readable, {
      split: "bytes",
      signal: options.signal,
    });
    const manifest: CodeManifest = {
      formatVersion: 1,
      kind: "code",
      backupId: newBackupId(started),
      startedAt: started.toISOString(),
      finishedAt: now().toISOString(),
      repository: basename(repo),
      refs,
      bundle: { size: written.size, sha256: written.sha256, blobs: written.blobs },
    };
    await repository.saveManifest(CODE_MANIFEST_KIND, manifest.backupId, manifest, {
      signal: options.signal,
    });
    return manifest;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Writes the bundle of a code backup to `path`, checking its size and SHA-256 against the
 * manifest, then runs `git bundle verify` on it.
 *
 * @throws {IntegrityError} when the bundle read back differs from the manifest
 * @throws {GitError} when git does not accept the bundle
 */
export async function restoreCodeBundle(
  repository: Repository,
  backupId: string,
  path: string,
): Promise<CodeManifest> {
  const manifest = await repository.loadManifest<CodeManifest>(CODE_MANIFEST_KIND, backupId);
  const hash = new StreamHash();
  let size = 0;
  const counted = repository.readStream(manifest.bundle.blobs).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        size += chunk.length;
        controller.enqueue(chunk);
      },
    }),
  );
  await Deno.writeFile(path, counted);
  if (size !== manifest.bundle.size || hash.hex() !== manifest.bundle.sha256) {
    throw new IntegrityError(`The bundle of code backup ${backupId} does not match its manifest`);
  }
  await verifyBundle(path);
  return manifest;
}

/**
 * Runs `git bundle verify` on a bundle, inside a throwaway empty repository (git needs one;
 * a bundle made with `--all` has no prerequisites, so an empty one is enough).
 *
 * @throws {GitError} when git does not accept the bundle
 */
export async function verifyBundle(path: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-verify-" });
  try {
    await git(["init", "--quiet", "--bare", dir], { cwd: dir });
    await git(["bundle", "verify", "--quiet", resolve(path)], { cwd: dir });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function listHeads(
  bundle: string,
  cwd: string,
): Promise<Array<{ name: string; commit: string }>> {
  const out = await git(["bundle", "list-heads", bundle], { cwd });
  return out.split("\n").filter(Boolean).map((line) => {
    const [commit, name] = line.split(" ");
    return { name, commit };
  });
}

async function git(args: string[], options: { cwd: string }): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("git", {
      args,
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new GitError("git is not installed or not on PATH");
    }
    throw error;
  }
  if (!output.success) {
    const message = new TextDecoder().decode(output.stderr).trim().split("\n").at(-1) ?? "";
    throw new GitError(`git ${args[0]} ${args[1] ?? ""} failed: ${message}`.replace(/\s+/g, " "));
  }
  return new TextDecoder().decode(output.stdout);
}
