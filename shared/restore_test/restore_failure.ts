/**
 * What a restore test says when its restore fails on a Supabase project's backup for want of
 * the platform: a plain scratch database has no `auth.users` or `auth.uid()`, which the
 * project's tables, policies and functions name.
 *
 * @module
 */
import type { DatabaseManifest } from "../database/manifest.ts";
import { PLATFORM_TEMPLATE } from "./scratch_database.ts";

/** `error`, or, when the platform's objects were missing, an error saying how to provide them. */
export function explainRestoreFailure(
  error: unknown,
  manifest: Pick<DatabaseManifest, "source">,
  template: string | null,
): unknown {
  const message = error instanceof Error ? error.message : String(error);
  if (!manifest.source.isSupabase || template || !/does not exist/.test(message)) return error;
  return new Error(
    `${message} (a Supabase project's backup refers to the platform schemas: create a ` +
      `database ${PLATFORM_TEMPLATE} holding them on the scratch server, and restore tests ` +
      "copy it)",
    { cause: error },
  );
}
