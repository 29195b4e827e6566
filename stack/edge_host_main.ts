/**
 * Entry of the Edge-constrained functions host, started by `edge_host.ts` as a `deno run`
 * subprocess whose permissions forbid what Supabase's Edge Runtime forbids (subprocesses, FFI,
 * writes outside the temporary directory, `node:vm` through the import map, a capped V8 heap).
 *
 * Before any function module is loaded it removes `Worker` (Deno has no permission for it, and
 * the Edge has none), so code that would start a worker must feature-detect it and stay inline.
 * It then builds the app from the environment with the Edge's steps, each step reporting its
 * CPU and memory on stdout as one JSON line, serves the functions, and answers
 * `GET /auth/v1/__edge/probe` (the gateway hands `/auth/v1/` to it) with what this process may do (the test's negative checks). It exits when
 * its stdin closes, so it never outlives its parent.
 *
 * Every other module is imported dynamically, after the global is gone: static imports would
 * run first.
 *
 * @module
 */

// No Web Workers, as on the Edge: gone before any module that might reach for them loads.
Reflect.deleteProperty(globalThis, "Worker");
if (typeof (globalThis as { Worker?: unknown }).Worker !== "undefined") {
  Object.defineProperty(globalThis, "Worker", { value: undefined, configurable: true });
}

/** One line of the host's report on stdout. */
export type EdgeHostEvent =
  | { edgeHost: "listening"; url: string }
  | {
    edgeHost: "step";
    phase: "start" | "end";
    kind: string;
    runId: string;
    /** This process's CPU (user + system) so far, ms. */
    cpuMs: number;
    /** `Deno.memoryUsage()` at that moment, bytes. */
    rss: number;
    heapTotal: number;
    heapUsed: number;
    external: number;
    /** At the end: the highest heapTotal and external sampled in-process during the step. */
    peakHeapTotal?: number;
    peakExternal?: number;
  };

/** What `GET /auth/v1/__edge/probe` (the gateway hands `/auth/v1/` to it) answers: each forbidden capability, and whether it was refused. */
export interface EdgeProbe {
  subprocess: string;
  ffi: string;
  writeOutsideTmp: string;
  writeTmp: string;
  worker: string;
  nodeVm: string;
  heapLimitMb: number;
}

function emit(event: EdgeHostEvent): void {
  console.log(JSON.stringify(event));
}

async function attempt(action: () => Promise<unknown> | unknown): Promise<string> {
  try {
    await action();
    return "allowed";
  } catch (error) {
    return `refused: ${error instanceof Error ? `${error.name}: ${error.message}` : error}`;
  }
}

async function probe(): Promise<EdgeProbe> {
  const { getHeapStatistics } = await import("node:v8");
  const tmp = Deno.env.get("TMPDIR") ?? Deno.env.get("TMP");
  // A folder really outside the temporary directory: the project's, unless the project itself
  // lives under it (a checkout in /tmp), then the home folder or /var/tmp.
  const tmpReal = Deno.realPathSync(tmp ?? "/tmp");
  const outsideDir = [
    new URL(".", import.meta.url).pathname,
    Deno.env.get("HOME"),
    "/var/tmp",
  ].find((dir) => {
    if (!dir) return false;
    try {
      const real = Deno.realPathSync(dir);
      return real !== tmpReal && !real.startsWith(`${tmpReal}/`);
    } catch {
      return false;
    }
  }) ?? "/";
  const outside = `${outsideDir.replace(/\/$/, "")}/.sauvegarde_edge_probe_write`;
  return {
    subprocess: await attempt(() => new Deno.Command("true").output()),
    ffi: await attempt(() => Deno.dlopen("libc.so.6", {}).close()),
    writeOutsideTmp: await attempt(async () => {
      await Deno.writeTextFile(outside, "the Edge forbids this");
      await Deno.remove(outside);
    }),
    writeTmp: await attempt(async () => {
      const dir = await Deno.makeTempDir({ dir: tmp, prefix: "sauvegarde-edge-probe-" });
      await Deno.writeTextFile(`${dir}/probe`, "allowed under the temporary directory");
      await Deno.remove(dir, { recursive: true });
    }),
    worker: await attempt(() => {
      const Worker = (globalThis as { Worker?: new (url: string) => unknown }).Worker;
      if (typeof Worker !== "function") throw new TypeError("Worker is not defined");
      return new Worker("data:text/javascript,close()");
    }),
    nodeVm: await attempt(() => import("node:vm")),
    heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 1024 / 1024),
  };
}

if (import.meta.main) {
  const { default: process } = await import("node:process");
  const { config } = await import("../shared/config/mod.ts");
  const { createApp, useApp } = await import("../shared/app/mod.ts");
  const { STEPS } = await import("../shared/steps/mod.ts");
  const { authSettingsOf } = await import("../shared/http/auth.ts");
  const { json } = await import("../shared/http/mod.ts");
  const { startFunctionsHost } = await import("./functions_host.ts");
  type StepFactory = import("../shared/jobs/mod.ts").StepFactory;
  type Step = import("../shared/jobs/mod.ts").Step;

  // Peaks of the V8 heap and of array buffers during the steps (every 20 ms, cheap).
  let peakHeapTotal = 0;
  let peakExternal = 0;
  const sampler = setInterval(() => {
    const memory = Deno.memoryUsage();
    peakHeapTotal = Math.max(peakHeapTotal, memory.heapTotal);
    peakExternal = Math.max(peakExternal, memory.external);
  }, 20);
  Deno.unrefTimer(sampler);
  const report = (phase: "start" | "end", kind: string, runId: string) => {
    const cpu = process.cpuUsage();
    const memory = Deno.memoryUsage();
    const peaks = phase === "end" ? { peakHeapTotal, peakExternal } : {};
    peakHeapTotal = memory.heapTotal;
    peakExternal = memory.external;
    emit({
      edgeHost: "step",
      phase,
      kind,
      runId,
      cpuMs: (cpu.user + cpu.system) / 1000,
      rss: memory.rss,
      heapTotal: memory.heapTotal,
      heapUsed: memory.heapUsed,
      external: memory.external,
      ...peaks,
    });
  };
  const traced = (kind: string, factory: StepFactory | null): StepFactory | null =>
    factory && ((context) => {
      const step: Step = factory(context);
      return async (run, tools) => {
        report("start", kind, run.id);
        try {
          return await step(run, tools);
        } finally {
          report("end", kind, run.id);
        }
      };
    });

  const settings = config();
  const steps = Object.fromEntries(
    Object.entries(STEPS).map(([kind, factory]) => [kind, traced(kind, factory)]),
  );
  useApp(createApp(settings, { steps }));
  const only = Deno.env.get("SAUVEGARDE_EDGE_FUNCTIONS")?.split(",").filter(Boolean);
  const port = Number(new URL(settings.supabaseUrl ?? "http://127.0.0.1:0").port || 0);
  const host = await startFunctionsHost({
    port,
    auth: authSettingsOf(settings),
    only,
    authService: async (request) =>
      new URL(request.url).pathname === "/auth/v1/__edge/probe"
        ? json(await probe())
        : json({ error: "No Auth service here" }, 404),
  });
  emit({ edgeHost: "listening", url: host.url });
  // Gone with the parent: stdin closes when it exits, however it exits.
  for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
  Deno.exit(0);
}
