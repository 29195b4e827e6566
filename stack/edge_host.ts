/**
 * The functions host under the Edge's constraints (DESIGN.md: 256 MB, no subprocess, no FFI,
 * no Web Workers, no `node:vm`, writable disk only under the temporary directory): a
 * `deno run` subprocess of `edge_host_main.ts` with `--deny-run --deny-ffi`, writes allowed only
 * under the temporary directory, `node:vm` mapped by the import map to a module that throws,
 * `Worker` removed before the functions load, and the V8 heap capped with
 * `--max-heap-size` (old and young generations together). Network, environment, reads and system information stay allowed, as
 * on the Edge.
 *
 * The parent samples the child's resident memory (`/proc/<pid>/status`) while it runs and
 * pairs it with the steps the child reports on stdout, so each step comes back with its CPU and
 * its peak RSS: what an Edge invocation would be charged.
 *
 * @module
 */
import { dirname } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { EdgeHostEvent, EdgeProbe } from "./edge_host_main.ts";
import { freePort } from "./ports.ts";

export type { EdgeProbe };

/** One step the constrained host ran. */
export interface EdgeStepSample {
  kind: string;
  runId: string;
  /** CPU of the host process during the step (user + system), ms. */
  cpuMs: number;
  wallMs: number;
  /** Highest RSS of the host process sampled during the step, bytes. */
  peakRssBytes: number;
  /** RSS when the step started, bytes. */
  startRssBytes: number;
  /** The host's own `Deno.memoryUsage()` when the step ended. */
  endMemory: { rss: number; heapTotal: number; heapUsed: number; external: number };
  /** Highest V8 heapTotal and array-buffer (external) bytes the host sampled during the step. */
  peakHeapTotalBytes: number;
  peakExternalBytes: number;
}

/** A running constrained host. */
export interface EdgeHost {
  /** Base URL: functions are at `${url}/functions/v1/<name>`. */
  readonly url: string;
  readonly pid: number;
  /** The environment the host was given (SUPABASE_URL is its own origin). */
  readonly env: Record<string, string>;
  functionUrl(name: string): string;
  /** Steps finished so far, in order. */
  readonly steps: readonly EdgeStepSample[];
  /** Highest RSS sampled since the host started, bytes. */
  readonly peakRssBytes: number;
  /** What the host's stderr said so far (permission errors show here). */
  stderr(): string;
  /** Asks the host what it may do (each forbidden capability attempted inside it). */
  probe(): Promise<EdgeProbe>;
  stop(): Promise<void>;
  /** Kills the host at once (SIGKILL), as the Edge does to an invocation over its limits. */
  kill(): Promise<void>;
}

/** Options for {@link startEdgeHost}. */
export interface EdgeHostOptions {
  /** The functions' environment (a local stack's `env`); SUPABASE_URL is replaced. */
  env: Record<string, string>;
  /** V8 old-space cap, MB (default 256, the Edge's memory). */
  heapMb?: number;
  /** Serve only these functions (default all). */
  functions?: readonly string[];
  /** RSS sampling interval, ms (default 10). */
  sampleMs?: number;
  /** Extra V8 flags (measuring only; the Edge sets its own). */
  v8Flags?: readonly string[];
}

const MAIN = new URL("./edge_host_main.ts", import.meta.url);
const DENO_JSON = new URL("../deno.json", import.meta.url);
const READY_TIMEOUT_MS = 60_000;

/** `node:vm` (and its bare alias) resolve to a module that throws, as the Edge has none. */
const NO_VM =
  "data:text/javascript,export default undefined;throw new Error('node:vm is not available on the Edge')";

function rssOf(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Starts the constrained host and waits until it serves. */
export async function startEdgeHost(options: EdgeHostOptions): Promise<EdgeHost> {
  // The temporary directory is where makeTempDir puts things: the only writable place.
  const scratch = await Deno.makeTempDir({ prefix: "sauvegarde-edge-host-" });
  const tmp = dirname(scratch);
  const project = JSON.parse(await Deno.readTextFile(DENO_JSON)) as {
    imports?: Record<string, string>;
  };
  const importMap = `${scratch}/import_map.json`;
  await Deno.writeTextFile(
    importMap,
    JSON.stringify({ imports: { ...project.imports, "node:vm": NO_VM, "vm": NO_VM } }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = { ...options.env, SUPABASE_URL: url, TMPDIR: tmp };
  if (options.functions) env.SAUVEGARDE_EDGE_FUNCTIONS = options.functions.join(",");
  const v8 = [`--max-heap-size=${options.heapMb ?? 256}`, ...(options.v8Flags ?? [])];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--deny-run",
      "--deny-ffi",
      `--allow-write=${tmp}`,
      "--allow-read",
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      `--import-map=${importMap}`,
      `--v8-flags=${v8.join(",")}`,
      fromFileUrl(MAIN),
    ],
    cwd: fromFileUrl(new URL("../", import.meta.url)),
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  const steps: EdgeStepSample[] = [];
  const open = new Map<
    string,
    { start: EdgeHostEvent & { edgeHost: "step" }; at: number; peak: number }
  >();
  let peak = 0;
  let errors = "";
  const sampler = setInterval(() => {
    const rss = rssOf(child.pid);
    if (rss === undefined) return;
    peak = Math.max(peak, rss);
    for (const step of open.values()) step.peak = Math.max(step.peak, rss);
  }, options.sampleMs ?? 10);

  let listening: (url: string) => void;
  const ready = new Promise<string>((resolve) => listening = resolve);
  const onEvent = (event: EdgeHostEvent) => {
    if (event.edgeHost === "listening") return listening(event.url);
    const key = `${event.kind}:${event.runId}`;
    if (event.phase === "start") {
      const rss = rssOf(child.pid) ?? event.rss;
      open.set(key, { start: event, at: performance.now(), peak: Math.max(rss, event.rss) });
      return;
    }
    const started = open.get(key);
    if (!started) return;
    open.delete(key);
    steps.push({
      kind: event.kind,
      runId: event.runId,
      cpuMs: event.cpuMs - started.start.cpuMs,
      wallMs: performance.now() - started.at,
      peakRssBytes: Math.max(started.peak, event.rss),
      startRssBytes: started.start.rss,
      endMemory: {
        rss: event.rss,
        heapTotal: event.heapTotal,
        heapUsed: event.heapUsed,
        external: event.external,
      },
      peakHeapTotalBytes: event.peakHeapTotal ?? event.heapTotal,
      peakExternalBytes: event.peakExternal ?? event.external,
    });
  };
  const reading = (async () => {
    let buffered = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += text;
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!line.startsWith('{"edgeHost"')) continue;
        try {
          onEvent(JSON.parse(line) as EdgeHostEvent);
        } catch { /* not ours */ }
      }
    }
  })();
  const draining = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) errors += text;
  })();

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    clearInterval(sampler);
    await child.stdin.close().catch(() => {});
    const exited = await Promise.race([
      child.status.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 5_000)),
    ]);
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    }
    await Promise.allSettled([reading, draining]);
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  };

  const timeout = setTimeout(() => listening(""), READY_TIMEOUT_MS);
  const served = await Promise.race([ready, child.status.then(() => "")]);
  clearTimeout(timeout);
  if (!served) {
    await stop();
    throw new Error(`The constrained functions host did not start:\n${errors}`);
  }
  return {
    url,
    pid: child.pid,
    env,
    functionUrl: (name) => `${url}/functions/v1/${name}`,
    steps,
    get peakRssBytes() {
      return peak;
    },
    stderr: () => errors,
    probe: async () => {
      const response = await fetch(`${url}/auth/v1/__edge/probe`);
      if (!response.ok) throw new Error(`The probe answered ${response.status}`);
      return await response.json() as EdgeProbe;
    },
    stop,
    kill: async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await stop();
    },
  };
}
