/**
 * Storage snapshot benchmark: `deno task cli snapshot` against `rclone sync --fast-list`, on
 * the same local S3-protocol servers (one standing in for Supabase Storage, one holding the
 * backups), for a first snapshot, again after 1% of the objects changed, and for a restore of
 * the latest snapshot into an empty Storage (against rclone copying its copy back).
 *
 * The data set is made here, deterministically: about 3,000 objects from 1 KB to 20 MB (about
 * 1 GB in all), small ones half text, larger ones incompressible like photos and videos.
 *
 * Protocol: fill the source; a warm-up round of both tools into throwaway destinations (the
 * S3 servers run under Node, whose first minute is slower: whoever went first would pay for
 * it); then the measured first runs into fresh destinations; then 1% of the objects change
 * (in a later second, as last-modified has one-second resolution here) and both run again
 * against their measured destinations. Peak RSS (VmHWM) and CPU time (user + system) are
 * sampled from /proc every 20 ms.
 *
 * Usage: `deno run -A bench/storage_bench.ts [--objects 3000] [--scale 1] [--json]`
 * (`--scale 0.1` for a quick run). Needs `rclone` on PATH. Prints a Markdown table.
 *
 * @module
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { parseArgs } from "node:util";
import { type S3Server, startS3Server } from "../stack/s3_server.ts";
import { cliCommand } from "./cli_command.ts";

const KIB = 1024;
const MIB = 1024 * KIB;

interface Measure {
  seconds: number;
  /** User + system CPU of the process, as last sampled before it exited. */
  cpuSeconds: number;
  peakRssMiB: number;
  stdout: string;
  stderr: string;
}

/** A deterministic pseudo-random generator (xorshift32). */
function generator(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

/** Object sizes: many small, fewer medium, a few large (log-uniform within each band). */
export function plan(
  objects: number,
  scale: number,
): Array<{ key: string; size: number; text: boolean }> {
  const random = generator(2026);
  const uniform = () => random() / 2 ** 32;
  const logUniform = (low: number, high: number) =>
    Math.round(Math.exp(Math.log(low) + uniform() * (Math.log(high) - Math.log(low))));
  const out: Array<{ key: string; size: number; text: boolean }> = [];
  for (let i = 0; i < objects; i++) {
    const band = i % 100;
    let size: number;
    let text = false;
    if (band < 2) size = Math.round(4 * MIB + uniform() * 16 * MIB); // 2%: 4-20 MB videos
    else if (band < 10) size = logUniform(64 * KIB, 4 * MIB); // 8%: photos
    else {
      size = logUniform(1 * KIB, 64 * KIB); // 90%: documents, thumbnails, JSON
      text = band % 2 === 0;
    }
    size = Math.max(1 * KIB, Math.round(size * scale));
    const user = i % 97;
    const kind = text ? "docs" : band < 2 ? "videos" : "photos";
    out.push({ key: `users/${user}/${kind}/item ${i}.${text ? "json" : "bin"}`, size, text });
  }
  return out;
}

function content(size: number, text: boolean, seed: number): Uint8Array {
  const random = generator(seed);
  const bytes = new Uint8Array(size);
  if (text) {
    const words = ["storage", "backup", "snapshot", "supabase", "object", "bucket", "row", "id"];
    let at = 0;
    while (at < size) {
      const word = `"${words[random() % words.length]}":${random() % 10000},`;
      for (let i = 0; i < word.length && at < size; i++) bytes[at++] = word.charCodeAt(i);
    }
    return bytes;
  }
  const words = new Uint32Array(bytes.buffer, 0, Math.floor(size / 4));
  for (let i = 0; i < words.length; i++) words[i] = random();
  return bytes;
}

export async function fill(
  client: S3Client,
  items: Array<{ key: string; size: number; text: boolean }>,
  seed: number,
): Promise<number> {
  let bytes = 0;
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      const item = items[index];
      const body = content(item.size, item.text, seed + index);
      bytes += body.length;
      await client.send(
        new PutObjectCommand({
          Bucket: "media",
          Key: item.key,
          Body: body,
          ContentType: item.text ? "application/json" : "application/octet-stream",
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return bytes;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** Runs a command, sampling its peak resident memory and CPU time from /proc. */
export async function measure(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<Measure> {
  const started = performance.now();
  const child = new Deno.Command(command, {
    args,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  let cpu = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      try {
        const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
        const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
        peak = Math.max(peak, kib * KIB);
        // Fields after the command name: state is the 1st, utime the 12th, stime the 13th.
        const stat = await Deno.readTextFile(`/proc/${child.pid}/stat`);
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        cpu = Math.max(cpu, (Number(fields[11]) + Number(fields[12])) / TICKS);
      } catch { /* exited */ }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const output = await child.output();
  running = false;
  await sampler;
  const seconds = (performance.now() - started) / 1000;
  const decoder = new TextDecoder();
  const result = {
    seconds,
    cpuSeconds: cpu,
    peakRssMiB: peak / MIB,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
  if (!output.success) {
    throw new Error(`${command} failed (${output.code}): ${result.stderr.slice(-2000)}`);
  }
  return result;
}

function rcloneEnv(
  source: S3Server,
  target: S3Server,
  restored?: S3Server,
): Record<string, string> {
  // rclone reads AWS_CA_BUNDLE and fails on it here, so the environment is built from scratch.
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "",
  };
  const remotes = [["SRC", source], ["DST", target], ...(restored ? [["RST", restored]] : [])];
  for (const [name, server] of remotes as Array<[string, S3Server]>) {
    Object.assign(env, {
      [`RCLONE_CONFIG_${name}_TYPE`]: "s3",
      [`RCLONE_CONFIG_${name}_PROVIDER`]: "Other",
      [`RCLONE_CONFIG_${name}_ENDPOINT`]: server.endpoint,
      [`RCLONE_CONFIG_${name}_REGION`]: server.region,
      [`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`]: server.accessKeyId,
      [`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`]: server.secretAccessKey,
      [`RCLONE_CONFIG_${name}_FORCE_PATH_STYLE`]: "true",
    });
  }
  return env;
}

export function ourEnv(source: S3Server, target: S3Server): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "",
    STORAGE_S3_ENDPOINT: source.endpoint,
    STORAGE_S3_REGION: source.region,
    STORAGE_S3_ACCESS_KEY_ID: source.accessKeyId,
    STORAGE_S3_SECRET_ACCESS_KEY: source.secretAccessKey,
    S3_REGION: target.region,
    S3_ACCESS_KEY_ID: target.accessKeyId,
    S3_SECRET_ACCESS_KEY: target.secretAccessKey,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      objects: { type: "string", default: "3000" },
      scale: { type: "string", default: "1" },
      json: { type: "boolean" },
    },
  });
  const items = plan(Number(values.objects), Number(values.scale));
  const source = await startS3Server({ buckets: ["media"] });
  const target = await startS3Server({ buckets: ["backups", "rclone-warmup", "rclone-media"] });
  // An empty Storage to restore into (each tool into its own bucket, which it creates).
  const restored = await startS3Server();
  const client = new S3Client({
    endpoint: source.endpoint,
    region: source.region,
    forcePathStyle: true,
    credentials: { accessKeyId: source.accessKeyId, secretAccessKey: source.secretAccessKey },
  });
  const [deno, ...cli] = await cliCommand();
  const targetUrl = (prefix: string) =>
    `s3://backups/${prefix}?endpoint=${encodeURIComponent(target.endpoint)}`;
  const ours = (prefix = "sauvegarde") =>
    measure(
      deno,
      [...cli, "snapshot", "--to", targetUrl(prefix), "--json"],
      ourEnv(source, target),
    );
  const rclone = (bucket = "rclone-media") =>
    measure("rclone", ["sync", "--fast-list", "src:media", `dst:${bucket}`], {
      ...rcloneEnv(source, target),
    });
  try {
    const filled = performance.now();
    const bytes = await fill(client, items, 1);
    console.error(
      `Filled ${items.length} objects, ${(bytes / MIB).toFixed(0)} MiB in ${
        ((performance.now() - filled) / 1000).toFixed(1)
      } s`,
    );
    const coldOurs = await ours("warmup");
    const coldRclone = await rclone("rclone-warmup");
    console.error(
      `Warm-up round: sauvegarde ${round(coldOurs.seconds)} s, rclone ${
        round(coldRclone.seconds)
      } s`,
    );
    const firstOurs = await ours();
    const firstRclone = await rclone();

    // 1% of the objects change, in a later second (last-modified has 1 s resolution here).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const random = generator(7);
    const changed = new Set<number>();
    while (changed.size < Math.max(1, Math.round(items.length / 100))) {
      changed.add(random() % items.length);
    }
    await fill(client, [...changed].map((i) => items[i]), 1_000_000);
    const againOurs = await ours();
    const againRclone = await rclone();

    // The way back: the latest snapshot into an empty Storage, against rclone copying its copy
    // back (what its users would run to restore).
    const restoreOurs = await measure(
      deno,
      [
        ...cli,
        "restore-storage",
        "--from",
        targetUrl("sauvegarde"),
        "--snapshot",
        "latest",
        "--endpoint",
        restored.endpoint,
        // The bench's repository has no keys: its manifests are not sealed.
        "--allow-unauthenticated",
        "--yes",
        "--json",
      ],
      ourEnv(source, target),
    );
    const restoreRclone = await measure(
      "rclone",
      ["sync", "--fast-list", "dst:rclone-media", "rst:media-rclone"],
      rcloneEnv(source, target, restored),
    );
    const restoreReport = JSON.parse(restoreOurs.stdout.trim().split("\n").at(-1)!);
    if (restoreReport.uploaded !== items.length) {
      throw new Error(`The restore uploaded ${restoreReport.uploaded} of ${items.length} objects`);
    }

    const summary = JSON.parse(againOurs.stdout.trim().split("\n").at(-1)!);
    const rows = [
      ["first snapshot", firstOurs, firstRclone],
      ["after 1% changed", againOurs, againRclone],
      ["restore into an empty Storage", restoreOurs, restoreRclone],
    ] as const;
    const result = {
      warmup: {
        sauvegardeSeconds: round(coldOurs.seconds),
        rcloneSeconds: round(coldRclone.seconds),
      },
      objects: items.length,
      mib: Math.round(bytes / MIB),
      changed: changed.size,
      incremental: { copied: summary.copied, skipped: summary.skipped },
      runs: rows.map(([name, a, b]) => ({
        name,
        sauvegardeSeconds: round(a.seconds),
        rcloneSeconds: round(b.seconds),
        ratio: round(a.seconds / b.seconds),
        sauvegardeCpuSeconds: round(a.cpuSeconds),
        rcloneCpuSeconds: round(b.cpuSeconds),
        sauvegardePeakRssMiB: Math.round(a.peakRssMiB),
        rclonePeakRssMiB: Math.round(b.peakRssMiB),
      })),
    };
    if (values.json) console.log(JSON.stringify(result));
    console.log(
      `\n${items.length} objects, ${result.mib} MiB; ${changed.size} changed for the second run\n`,
    );
    console.log(
      "| run | sauvegarde | rclone sync --fast-list | ratio | CPU (ours / rclone) | " +
        "peak RSS (ours / rclone) |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (const run of result.runs) {
      console.log(
        `| ${run.name} | ${run.sauvegardeSeconds} s | ${run.rcloneSeconds} s | ${run.ratio}× | ` +
          `${run.sauvegardeCpuSeconds} / ${run.rcloneCpuSeconds} s | ` +
          `${run.sauvegardePeakRssMiB} / ${run.rclonePeakRssMiB} MiB |`,
      );
    }
  } finally {
    client.destroy();
    await source.stop();
    await target.stop();
    await restored.stop();
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

if (import.meta.main) await main();
