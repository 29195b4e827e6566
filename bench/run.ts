/**
 * `deno task bench [name] [args…]`: runs `bench/<name>_bench.ts` with the arguments, or every
 * benchmark in turn when no name is given. Each runs in its own process.
 *
 * @module
 */

const here = new URL("./", import.meta.url);

async function available(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(here)) {
    const match = /^(.+)_bench\.ts$/.exec(entry.name);
    if (entry.isFile && match) names.push(match[1]);
  }
  return names.sort();
}

async function runOne(name: string, args: string[]): Promise<number> {
  const file = new URL(`${name}_bench.ts`, here).pathname;
  const child = new Deno.Command(Deno.execPath(), { args: ["run", "-A", file, ...args] }).spawn();
  return (await child.status).code;
}

if (import.meta.main) {
  const [name, ...rest] = Deno.args;
  const names = await available();
  if (name === "--help" || name === "-h") {
    console.log(`Usage: deno task bench [${names.join("|")}] [args…]`);
    Deno.exit(0);
  }
  if (name !== undefined && !names.includes(name)) {
    console.error(`Unknown benchmark "${name}"; available: ${names.join(", ")}`);
    Deno.exit(2);
  }
  let failed = 0;
  for (const one of name ? [name] : names) {
    console.error(`# ${one}`);
    if (await runOne(one, name ? rest : []) !== 0) failed++;
  }
  Deno.exit(failed ? 1 : 0);
}
