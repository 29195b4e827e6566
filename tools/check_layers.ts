/**
 * The layer check (`deno task check`): every import inside `shared/` goes down the layer
 * order, never up or sideways, and nothing in `shared/` imports an adapter (`functions/`,
 * `cli/`, `stack/`, `tests/`, `bench/`, `dashboard/`). The order is written here once and in
 * the README; a package may import itself, a package on a lower line, and nothing else. Type
 * imports count: a type that must climb belongs lower.
 *
 * `deno run -A tools/check_layers.ts [root]` prints each offending import and exits 1.
 *
 * @module
 */
import { dirname, join, normalize, relative } from "node:path";

/** The layers, lowest first; packages on one line may not import each other. */
export const LAYERS: readonly (readonly string[])[] = [
  ["util", "runtime"],
  ["config"],
  ["targets"],
  ["codec"],
  ["repository"],
  ["pg"],
  ["database"],
  ["storage"],
  ["runs"],
  ["jobs"],
  ["notify"],
  ["alerts", "retention"],
  ["verify", "replication", "backups"],
  ["restore_test", "recovery", "status"],
  ["steps"],
  ["app"],
  ["http"],
];

const ADAPTERS = ["functions", "cli", "stack", "tests", "bench", "dashboard", "tools"];

/** One import that breaks the order. */
export interface Violation {
  file: string;
  imports: string;
  why: string;
}

/** The package of a path under `shared/` (its first folder), or undefined. */
export function packageOf(path: string): string | undefined {
  const parts = path.split("/");
  if (parts[0] !== "shared" || parts.length < 3) return undefined;
  return parts[1];
}

function rankOf(pkg: string): number {
  return LAYERS.findIndex((line) => line.includes(pkg));
}

/** Why `from` may not import `to` (repository-relative paths), or undefined when it may. */
export function whyNot(from: string, to: string): string | undefined {
  if (!from.startsWith("shared/")) return undefined;
  const top = to.split("/")[0];
  if (ADAPTERS.includes(top)) return `the engine imports the adapter folder ${top}/`;
  if (!to.startsWith("shared/")) return undefined;
  const source = packageOf(from);
  const target = packageOf(to);
  if (!source) return `${from} sits outside every package: put it in one`;
  if (!target) return `${to} sits outside every package: put it in one`;
  if (source === target) return undefined;
  const [a, b] = [rankOf(source), rankOf(target)];
  if (a < 0) return `package ${source} has no place in the layer order`;
  if (b < 0) return `package ${target} has no place in the layer order`;
  if (b === a) return `${source} and ${target} are siblings on one layer`;
  if (b > a) return `${source} is below ${target}`;
  return undefined;
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']|(?:^|[\s;(])import\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

async function* sources(root: string, folder: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(root, folder))) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory) yield* sources(root, path);
    else if (/\.tsx?$/.test(entry.name)) yield path;
  }
}

/** Every import in `shared/` that breaks the order. */
export async function checkLayers(root: string): Promise<Violation[]> {
  const violations: Violation[] = [];
  for await (const file of sources(root, "shared")) {
    if (!packageOf(file)) {
      violations.push({ file, imports: "", why: "it sits outside every package: put it in one" });
    }
    const text = await Deno.readTextFile(join(root, file));
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2];
      const to = normalize(join(dirname(file), spec));
      const why = whyNot(file, relative(".", to));
      if (why) violations.push({ file, imports: to, why });
    }
  }
  return violations;
}

if (import.meta.main) {
  const root = Deno.args[0] ?? new URL("..", import.meta.url).pathname;
  const violations = await checkLayers(root);
  for (const v of violations) {
    console.error(v.imports ? `${v.file} imports ${v.imports}: ${v.why}` : `${v.file}: ${v.why}`);
  }
  if (violations.length) {
    console.error(`${violations.length} problems with the layer order (tools/check_layers.ts)`);
    Deno.exit(1);
  }
  console.log("Layers: every import in shared/ goes down the order");
}
