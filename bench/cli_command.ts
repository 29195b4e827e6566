/**
 * The CLI's command line as `deno task cli` runs it (runtime flags included), with this Deno
 * and absolute paths, so a benchmark measures what users run and samples the CLI's own process
 * rather than a task runner in front of it.
 *
 * @module
 */
const ROOT = new URL("../", import.meta.url);

/** `deno.json`'s `cli` task as an argument vector: `[deno, "run", …flags, "/…/cli/main.ts"]`. */
export async function cliCommand(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const task: string | undefined = config.tasks?.cli;
  const words = task?.split(/\s+/) ?? [];
  if (words[0] !== "deno" || words.at(-1) !== "cli/main.ts") {
    throw new Error(`The cli task is not "deno … cli/main.ts": ${task}`);
  }
  return [Deno.execPath(), ...words.slice(1, -1), new URL("cli/main.ts", ROOT).pathname];
}
