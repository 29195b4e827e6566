/**
 * A local S3-protocol server for tests and demos: s3rver, run by Node as a child process
 * on loopback (its listing continuation tokens need Node's legacy OpenSSL provider).
 *
 * The child watches its stdin, which this process holds open: when this process exits for any
 * reason, the pipe closes and the server exits with it.
 *
 * @module
 */

import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.ts";

/** Options for {@link startS3Server}. */
export interface S3ServerOptions {
  /** Buckets to create at startup (names need 3 or more characters). */
  buckets?: string[];
  /** Data directory; kept by `stop()` when given here, removed when created by the server. */
  dir?: string;
  /** Loopback port; a free one by default. */
  port?: number;
}

/** A running local S3-protocol server. */
export interface S3Server {
  /** Base URL, path-style: `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly region: "us-east-1";
  readonly accessKeyId: "S3RVER";
  readonly secretAccessKey: "S3RVER";
  /** The data directory. */
  readonly dir: string;
  readonly port: number;
  /** Creates a bucket; succeeds when it already exists. */
  createBucket(name: string): Promise<void>;
  /** Stops the server and removes its data directory (unless the caller supplied it). */
  stop(): Promise<void>;
  /** Kills the server abruptly, keeping its data (a cut). */
  kill(): Promise<void>;
  /** Starts the server again on the same port with the same data. */
  restart(): Promise<void>;
}

const BIN = fileURLToPath(new URL("../node_modules/s3rver/bin/s3rver.js", import.meta.url));

// Exits when the parent's end of stdin closes, then runs s3rver's own command line.
const WATCHDOG = [
  "process.stdin.on('end', () => process.exit(0));",
  "process.stdin.on('error', () => process.exit(0));",
  "process.stdin.resume();",
  `process.argv.splice(1, 0, ${JSON.stringify(BIN)});`,
  `require(${JSON.stringify(BIN)});`,
].join("\n");

const READY_TIMEOUT_MS = 15_000;

/**
 * Starts s3rver on a loopback port and waits until it accepts connections.
 *
 * @throws {Error} when Node or s3rver is missing, a bucket name is too short, or the server
 * does not come up in time
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  try {
    await Deno.stat(BIN);
  } catch {
    throw new Error("The s3rver package is not installed; run deno install in the project");
  }
  const buckets = options.buckets ?? [];
  for (const name of buckets) checkBucketName(name);
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "s3rver-" });
  const port = options.port ?? await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let child: Deno.ChildProcess | undefined = await spawn(dir, port, buckets);

  const halt = async (signal: Deno.Signal) => {
    const current = child;
    child = undefined;
    if (!current) return;
    globalThis.removeEventListener("unload", killOnUnload);
    try {
      current.kill(signal);
    } catch { /* already gone */ }
    await current.stdin.close().catch(() => {});
    current.ref(); // keep the event loop alive until the exit is seen
    await current.status;
  };
  const killOnUnload = () => {
    try {
      child?.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  globalThis.addEventListener("unload", killOnUnload);

  return {
    endpoint,
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    dir,
    port,
    async createBucket(name) {
      checkBucketName(name);
      const client = new S3Client({
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw error;
      } finally {
        client.destroy();
      }
    },
    async stop() {
      await halt("SIGTERM");
      if (ownsDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
    kill: () => halt("SIGKILL"),
    async restart() {
      await halt("SIGKILL");
      child = await spawn(dir, port, []);
      globalThis.addEventListener("unload", killOnUnload);
    },
  };
}

function checkBucketName(name: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
    throw new Error(
      `Bucket name "${name}" is not valid here: use 3 to 63 lowercase letters, digits, dots or hyphens`,
    );
  }
}

async function spawn(dir: string, port: number, buckets: string[]): Promise<Deno.ChildProcess> {
  const args = ["--openssl-legacy-provider", "-e", WATCHDOG, "--"];
  args.push("-d", dir, "-p", String(port), "-a", "127.0.0.1", "--silent");
  for (const name of buckets) args.push("--configure-bucket", name);
  const child = new Deno.Command("node", {
    args,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Deno may exit while the server runs; the closed stdin then stops the server.
  child.unref();
  let exited: Deno.CommandStatus | undefined;
  child.status.then((status) => exited = status);
  const stderr = collect(child.stderr);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (true) {
    if (exited) {
      throw new Error(
        `The S3 server exited during startup with code ${exited.code}: ${(await stderr).trim()}`,
      );
    }
    if (await accepts(port)) return child;
    if (Date.now() > deadline) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      throw new Error(`The S3 server did not accept connections on port ${port} in time`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Drains a stream, keeping its last few kilobytes as text. */
async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  try {
    for await (const chunk of stream) text = (text + decoder.decode(chunk)).slice(-4096);
  } catch { /* closed */ }
  return text;
}

async function accepts(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}
