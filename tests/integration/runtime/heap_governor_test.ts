/**
 * The CLI's heap governor: when it collects, that it re-bases on what survived, that it stays
 * out of the way where the runtime exposes no `gc`, and that the CLI's own flags give it one.
 */
import assert from "node:assert/strict";
import { governHeap } from "../../../shared/runtime/heap_governor.ts";
import { mallocTrim } from "../../../shared/runtime/malloc_trim.ts";
import { cliCommand } from "../../../bench/cli_command.ts";

const MIB = 1024 * 1024;
const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

Deno.test("the governor collects once the heap grew by its headroom, then from what survived", async () => {
  let heap = 20 * MIB;
  const collected: number[] = [];
  const governor = governHeap({
    headroomBytes: 8 * MIB,
    intervalMs: 5,
    heapUsed: () => heap,
    collect: () => {
      collected.push(heap);
      heap = 22 * MIB; // what survived
    },
  });
  try {
    assert.equal(governor.active, true);
    heap = 27 * MIB; // grown by less than the headroom
    await tick();
    assert.deepEqual(collected, []);
    heap = 28 * MIB;
    await tick();
    assert.deepEqual(collected, [28 * MIB]);
    // The next threshold is 22 + 8 MiB, not 20 + 8.
    heap = 29 * MIB;
    await tick();
    assert.equal(governor.collections, 1);
    heap = 30 * MIB;
    await tick();
    assert.equal(governor.collections, 2);
  } finally {
    governor.stop();
  }
  heap = 100 * MIB;
  await tick();
  assert.equal(governor.collections, 2, "a stopped governor does not collect");
});

Deno.test("without an exposed gc the governor does nothing", () => {
  // `deno test` runs without --expose-gc.
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined");
  const governor = governHeap({ headroomBytes: MIB });
  assert.equal(governor.active, false);
  governor.stop();
});

Deno.test("malloc_trim loads from glibc and runs", () => {
  const trim = mallocTrim();
  if (Deno.build.os !== "linux") return;
  assert.ok(trim, "glibc's malloc_trim was not found");
  trim();
});

Deno.test("under the cli task's flags the governor keeps the heap nearer what is live", async () => {
  const [deno, run, ...rest] = await cliCommand();
  const flags = rest.filter((word) => word.startsWith("--v8-flags"));
  assert.ok(flags.some((flag) => flag.includes("--expose-gc")), "the cli task exposes gc");
  const governor = new URL("../../../shared/runtime/heap_governor.ts", import.meta.url).href;
  // Garbage that outlives a few scavenges, as in-flight requests do, so it reaches old space;
  // about 1 MB of it is live at any time.
  const script = (governed: boolean) => `
    import { governHeap } from ${JSON.stringify(governor)};
    const governor = ${governed}
      ? governHeap({ headroomBytes: 4 * 1024 * 1024, intervalMs: 10 })
      : undefined;
    let peak = 0;
    const held = [];
    for (let round = 0; round < 700; round++) {
      held.push(Array.from({ length: 1000 }, (_, i) => ({ round, i, text: "x" + i })));
      if (held.length > 8) held.shift();
      peak = Math.max(peak, Deno.memoryUsage().heapUsed);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    console.log(JSON.stringify({ active: governor?.active, collections: governor?.collections, peak }));
  `;
  const measure = async (governed: boolean) => {
    const child = new Deno.Command(deno, {
      args: [run, ...flags, "-A", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(script(governed)));
    await writer.close();
    const result = await child.output();
    assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
    return JSON.parse(new TextDecoder().decode(result.stdout).trim());
  };
  const [free, governed] = await Promise.all([measure(false), measure(true)]);
  assert.equal(governed.active, true);
  assert.ok(governed.collections > 0, "it collected");
  // Measured: about 17 MiB left to V8, about 8 MiB governed.
  assert.ok(
    governed.peak + 2 * MIB < free.peak,
    `governed heap peaked at ${(governed.peak / MIB).toFixed(1)} MiB, ` +
      `left to V8 at ${(free.peak / MIB).toFixed(1)} MiB`,
  );
});

Deno.test("the CLI refuses a heap headroom that is not a size", async () => {
  const main = new URL("../../../cli/main.ts", import.meta.url).pathname;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "list", "--from", "file:///nonexistent"],
    env: { SAUVEGARDE_HEAP_HEADROOM_MB: "lots" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(result.code, 1);
  assert.match(
    new TextDecoder().decode(result.stderr),
    /SAUVEGARDE_HEAP_HEADROOM_MB must be a number of MiB, 0 or more, got "lots"/,
  );
});
