/**
 * Shared set-up of the Storage tests: a source S3 server standing in for Supabase Storage, a
 * second one as the backup target, and helpers to fill buckets and open the engine's parts.
 *
 * @module
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type S3Server, startS3Server } from "../../stack/s3_server.ts";
import { openTarget } from "../../shared/targets/open_target.ts";
import { Repository } from "../../shared/repository/mod.ts";
import { StorageSource } from "../../shared/storage/source.ts";
import { S3Http } from "../../shared/targets/s3_http.ts";
import { StorageDestination } from "../../shared/storage/destination.ts";
import { sdkClient } from "./sdk_client.ts";
import type { SnapshotContext } from "../../shared/storage/snapshot/mod.ts";
import type { StorageTarget } from "../../shared/targets/target.ts";

/** A source server, a target server, and clients on them. */
export interface StorageStack {
  source: S3Server;
  target: S3Server;
  sourceClient: S3Client;
  /** The engine's own client on the source. */
  sourceHttp: S3Http;
  targetUrl: string;
  storageTarget: StorageTarget;
  repository: Repository;
  context(overrides?: Partial<SnapshotContext>): SnapshotContext;
  put(
    bucket: string,
    key: string,
    body: Uint8Array | string,
    extra?: { contentType?: string; cacheControl?: string; metadata?: Record<string, string> },
  ): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the two servers with the given source buckets and a "backups" target bucket. */
export async function startStorageStack(buckets: string[]): Promise<StorageStack> {
  const source = await startS3Server({ buckets });
  const target = await startS3Server({ buckets: ["backups"] });
  const sourceClient = sdkClient(source);
  const targetUrl = `s3://backups/repo?endpoint=${encodeURIComponent(target.endpoint)}`;
  const storageTarget = openTarget(targetUrl, { s3: target });
  const repository = new Repository(storageTarget, { compression: "zstd" });
  const stack: StorageStack = {
    source,
    target,
    sourceClient,
    sourceHttp: new S3Http(source),
    targetUrl,
    storageTarget,
    repository,
    context: (overrides = {}) => ({
      source: new StorageSource(stack.sourceHttp),
      sourceEndpoint: source.endpoint,
      repositories: [{ name: "test", repository }],
      options: { compression: "zstd", encrypted: false },
      ...overrides,
    }),
    async put(bucket, key, body, extra = {}) {
      await sourceClient.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: typeof body === "string" ? new TextEncoder().encode(body) : body,
          ContentType: extra.contentType,
          CacheControl: extra.cacheControl,
          Metadata: extra.metadata,
        }),
      );
    },
    async stop() {
      sourceClient.destroy();
      await storageTarget.close();
      await source.stop();
      await target.stop();
    },
  };
  return stack;
}

/**
 * The engine's destination on a server, and an SDK client to read back what it restored
 * (restores go back where snapshots came from).
 */
export function destinationOn(
  server: S3Server,
): { destination: StorageDestination; client: S3Client } {
  return { destination: new StorageDestination(server), client: sdkClient(server) };
}

/** What a CLI run printed, how it exited, and its peak resident memory. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Peak resident set size in bytes, sampled from /proc while it ran (0 where unavailable). */
  peakRss: number;
}

/** Runs `deno run -A cli/main.ts …args` with exactly `env` (plus PATH and HOME). */
export async function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  const main = new URL("../../cli/main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, ...args],
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peakRss = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peakRss = Math.max(peakRss, await residentBytes(child.pid));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  const output = await child.output();
  running = false;
  await sampler;
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    peakRss,
  };
}

async function residentBytes(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const match = /VmHWM:\s+(\d+) kB/.exec(status) ?? /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The environment that points the CLI's Storage source at a server. */
export function storageEnv(server: S3Server): Record<string, string> {
  return {
    STORAGE_S3_ENDPOINT: server.endpoint,
    STORAGE_S3_REGION: server.region,
    STORAGE_S3_ACCESS_KEY_ID: server.accessKeyId,
    STORAGE_S3_SECRET_ACCESS_KEY: server.secretAccessKey,
  };
}

/** The environment that gives the CLI credentials for an S3 target server. */
export function targetEnv(server: S3Server): Record<string, string> {
  return {
    S3_REGION: server.region,
    S3_ACCESS_KEY_ID: server.accessKeyId,
    S3_SECRET_ACCESS_KEY: server.secretAccessKey,
  };
}
