/**
 * Configuration and code backups: refusals first (no encryption keys, a missing file, a folder
 * that is not a git repository, a damaged bundle), then an encrypted round trip of env files
 * whose stored bytes never show the plaintext, a git bundle that `git bundle verify` accepts
 * after loading it back, and both CLI commands.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { KeyError, Keyring } from "../../../shared/codec/mod.ts";
import {
  backupCode,
  GitError,
  restoreCodeBundle,
  verifyBundle,
} from "../../../shared/backups/code_backup.ts";
import {
  backupConfigFiles,
  CONFIG_MANIFEST_KIND,
  type ConfigManifest,
  EncryptionRequiredError,
  readConfigFile,
} from "../../../shared/backups/config_backup.ts";
import { blobKey, Repository } from "../../../shared/repository/mod.ts";
import { FileTarget } from "../../../shared/targets/mod.ts";
import { IntegrityError } from "../../../shared/util/errors.ts";
import { MemoryTarget } from "../../support/memory_target.ts";

const KEY = `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(5)))}`;
const OTHER_KEY = `k2:${btoa(String.fromCharCode(...new Uint8Array(32).fill(6)))}`;
const SECRET = "sb_secret_do-not-leak-0123456789abcdef";
const ENV_TEXT = `SUPABASE_URL=https://example.supabase.co\nSUPABASE_SECRET_KEY=${SECRET}\n`;
const CLI = new URL("../../../cli/main.ts", import.meta.url).pathname;

function contains(haystack: Uint8Array, needle: string): boolean {
  const bytes = new TextEncoder().encode(needle);
  outer: for (let i = 0; i <= haystack.length - bytes.length; i++) {
    for (let j = 0; j < bytes.length; j++) if (haystack[i + j] !== bytes[j]) continue outer;
    return true;
  }
  return false;
}

async function cli(args: string[], env: Record<string, string>, cwd?: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { SUPABASE_DB_URL: "", SAUVEGARDE_TARGETS: "", SAUVEGARDE_ENCRYPTION_KEYS: "", ...env },
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command("git", {
    args: ["-c", "user.name=Test", "-c", "user.email=test@example.com", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout);
}

/** A git repository with two commits on main and a branch. */
async function gitRepository(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-code-repo-" });
  await git(dir, "init", "--quiet", "--initial-branch=main");
  await Deno.writeTextFile(join(dir, "README.md"), "# shop\n");
  await git(dir, "add", ".");
  await git(dir, "commit", "--quiet", "-m", "first");
  await Deno.writeTextFile(join(dir, "schema.sql"), "create table orders (id int);\n");
  await git(dir, "add", ".");
  await git(dir, "commit", "--quiet", "-m", "schema");
  await git(dir, "branch", "feature");
  return dir;
}

// ---- refusals -----------------------------------------------------------------------------

Deno.test("a configuration backup is refused without encryption keys, and stores nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-config-" });
  try {
    await Deno.writeTextFile(join(dir, ".env"), ENV_TEXT);
    const target = new MemoryTarget();
    await assert.rejects(
      backupConfigFiles(new Repository(target), { files: [join(dir, ".env")] }),
      (error: Error) =>
        error instanceof EncryptionRequiredError &&
        error.message === "Configuration backups must be encrypted: set SAUVEGARDE_ENCRYPTION_KEYS",
    );
    assert.equal(target.objects.size, 0);

    const backups = join(dir, "backups");
    const result = await cli(["backup-config", "--to", `file://${backups}`], {}, dir);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /Error: Configuration backups must be encrypted: set SAUVEGARDE_ENCRYPTION_KEYS/,
    );
    await assert.rejects(Deno.stat(backups), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing file fails the configuration backup before any manifest is written", async () => {
  const target = new MemoryTarget();
  const repo = new Repository(target, { keyring: await Keyring.parse(KEY) });
  await assert.rejects(
    backupConfigFiles(repo, { files: ["/nonexistent/sauvegarde/.env"] }),
    Deno.errors.NotFound,
  );
  assert.deepEqual(await repo.listManifests(CONFIG_MANIFEST_KIND), []);
  await assert.rejects(backupConfigFiles(repo, { files: [] }), /Name at least one file/);
});

Deno.test("a code backup of a folder that is not a git repository fails clearly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-not-git-" });
  try {
    const target = new MemoryTarget();
    await assert.rejects(
      backupCode(new Repository(target), { repo: dir }),
      (error: Error) =>
        error instanceof GitError && /^git bundle create failed: /.test(error.message),
    );
    assert.equal(target.objects.size, 0);
    await Deno.writeTextFile(join(dir, "fake.bundle"), "# v2 git bundle\nnot really\n");
    await assert.rejects(verifyBundle(join(dir, "fake.bundle")), GitError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a code backup whose stored bundle was damaged is refused on restore", async () => {
  const repoDir = await gitRepository();
  const out = await Deno.makeTempDir({ prefix: "sauvegarde-code-out-" });
  try {
    const target = new MemoryTarget();
    const repository = new Repository(target, { compression: "none" });
    const manifest = await backupCode(repository, { repo: repoDir });
    const stored = target.objects.get(blobKey(manifest.bundle.blobs[0].id))!;
    stored.bytes[stored.bytes.length - 10] ^= 0xff;
    await assert.rejects(
      restoreCodeBundle(repository, manifest.backupId, join(out, "restored.bundle")),
      IntegrityError,
    );
  } finally {
    await Deno.remove(repoDir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

// ---- round trips --------------------------------------------------------------------------

Deno.test("a configuration backup round-trips encrypted and its stored bytes never show the plaintext", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-config-" });
  try {
    await Deno.mkdir(join(dir, "supabase"));
    const second = `OTHER=${SECRET}-2\n`;
    await Deno.writeTextFile(join(dir, ".env"), ENV_TEXT);
    await Deno.writeTextFile(join(dir, "supabase", ".env"), second);
    const keyring = await Keyring.parse(KEY);
    const target = new MemoryTarget();
    // No compression: only encryption stands between the secret and the stored bytes.
    const repo = new Repository(target, { compression: "none", keyring });
    const files = [join(dir, ".env"), join(dir, "supabase", ".env")];
    const manifest = await backupConfigFiles(repo, {
      files,
      baseDir: dir,
      keyId: keyring.active.id,
    });
    assert.deepEqual(manifest.files.map((file) => file.name), [".env", "supabase/.env"]);
    assert.equal(manifest.encryptionKeyId, "k1");
    assert.equal(manifest.kind, "config");
    assert.deepEqual(await repo.listManifests("config"), [manifest.backupId]);
    assert.ok(target.objects.size >= 3);
    for (const [key, entry] of target.objects) {
      assert.equal(contains(entry.bytes, SECRET), false, `${key} shows the secret`);
      assert.equal(contains(entry.bytes, "SUPABASE_SECRET_KEY"), false, `${key} shows a name`);
    }
    // Same-named files in two folders outside the base folder would collide: refused.
    await assert.rejects(
      backupConfigFiles(repo, { files, baseDir: join(dir, "elsewhere") }),
      /Two files would be stored as ".env"/,
    );

    const read = async (r: Repository, name: string) =>
      await new Response(await readConfigFile(r, manifest.backupId, name)).text();
    assert.equal(await read(repo, ".env"), ENV_TEXT);
    assert.equal(await read(repo, "supabase/.env"), second);
    // Another key cannot read it; no key cannot either.
    const stranger = new Repository(target, { keyring: await Keyring.parse(OTHER_KEY) });
    await assert.rejects(read(stranger, ".env"), KeyError);
    await assert.rejects(read(new Repository(target), ".env"), KeyError);
    const loaded = await repo.loadManifest<ConfigManifest>("config", manifest.backupId);
    assert.deepEqual(loaded, manifest);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task cli backup-config stores env files encrypted in the target", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-config-cli-" });
  try {
    await Deno.writeTextFile(join(dir, ".env"), ENV_TEXT);
    await Deno.writeTextFile(join(dir, ".env.production"), `PROD=${SECRET}\n`);
    const backups = join(dir, "backups");
    const result = await cli(
      [
        "backup-config",
        "--to",
        `file://${backups}`,
        "--file",
        ".env",
        "--file",
        ".env.production",
        "--json",
      ],
      { SAUVEGARDE_ENCRYPTION_KEYS: KEY, SAUVEGARDE_COMPRESSION: "none" },
      dir,
    );
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual(summary.files.map((f: { name: string }) => f.name), [
      ".env",
      ".env.production",
    ]);
    assert.equal(result.stdout.includes(SECRET), false);
    const repo = new Repository(new FileTarget(backups), { keyring: await Keyring.parse(KEY) });
    const text = await new Response(await readConfigFile(repo, summary.backupId, ".env.production"))
      .text();
    assert.equal(text, `PROD=${SECRET}\n`);
    for await (const entry of Deno.readDir(join(backups, "blobs"))) {
      for await (const file of Deno.readDir(join(backups, "blobs", entry.name))) {
        const bytes = await Deno.readFile(join(backups, "blobs", entry.name, file.name));
        assert.equal(contains(bytes, SECRET), false);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a code backup bundles a git repository and git bundle verify passes after loading it back", async () => {
  const repoDir = await gitRepository();
  const out = await Deno.makeTempDir({ prefix: "sauvegarde-code-out-" });
  try {
    const target = new MemoryTarget();
    const repository = new Repository(target, { keyring: await Keyring.parse(KEY) });
    const manifest = await backupCode(repository, { repo: repoDir });
    assert.equal(manifest.kind, "code");
    assert.equal(manifest.repository, repoDir.split("/").at(-1));
    const head = (await git(repoDir, "rev-parse", "HEAD")).trim();
    assert.deepEqual(
      manifest.refs.filter((ref) => ref.name !== "HEAD").map((ref) => ref.name).sort(),
      ["refs/heads/feature", "refs/heads/main"],
    );
    assert.ok(manifest.refs.every((ref) => ref.commit === head));
    assert.deepEqual(await repository.listManifests("code"), [manifest.backupId]);

    const bundle = join(out, "restored.bundle");
    await restoreCodeBundle(repository, manifest.backupId, bundle);
    await verifyBundle(bundle);
    await git(out, "clone", "--quiet", "--branch", "main", bundle, "clone");
    assert.equal(
      await Deno.readTextFile(join(out, "clone", "schema.sql")),
      "create table orders (id int);\n",
    );
    assert.equal((await git(join(out, "clone"), "rev-parse", "HEAD")).trim(), head);
  } finally {
    await Deno.remove(repoDir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deno task cli backup-code bundles this project's repository", async () => {
  const backups = await Deno.makeTempDir({ prefix: "sauvegarde-code-cli-" });
  try {
    const project = new URL("..", import.meta.url).pathname;
    const result = await cli(
      ["backup-code", "--to", `file://${backups}`, "--repo", project, "--json"],
      {},
    );
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    assert.ok(summary.refs >= 1);
    const repository = new Repository(new FileTarget(backups));
    const bundle = join(backups, "check.bundle");
    const manifest = await restoreCodeBundle(repository, summary.backupId, bundle);
    assert.equal(manifest.bundle.size, (await Deno.stat(bundle)).size);
  } finally {
    await Deno.remove(backups, { recursive: true });
  }
});
