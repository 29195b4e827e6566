/**
 * Runs the operator CLI as a separate process against a local stack, with exactly the
 * stack's environment (what `supabase secrets set` would hold) and no terminal on stdin.
 *
 * @module
 */
import type { LocalStack } from "../../stack/local_stack.ts";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;

/** `deno run -A cli/main.ts …args`, its exit code and both outputs. */
export async function cliOnStack(
  stack: LocalStack,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: stack.env,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
