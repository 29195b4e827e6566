/**
 * `verify-backups` Edge Function: proves the backups are usable and says so.
 *
 * - `GET ?sample=<n|all>&only=<check id prefix,…>` or `POST {"sample"?, "only"?}` → 200 when
 *   every check passes (warnings included), 500 when any fails, with every check as JSON.
 *
 * Callers: pg_cron (secret), backup admins (JWT), service keys. Each call is recorded as a
 * `verify` run and updates the alerts (unless `only` restricts the checks).
 *
 * @module
 */
import { z } from "zod";
import { app } from "../../shared/app/mod.ts";
import { STEPS } from "../../shared/steps/mod.ts";
import {
  authorize,
  badRequest,
  type Caller,
  callerSettings,
  json,
  readJson,
  route,
} from "../../shared/http/mod.ts";
import { verifyBackups } from "../../shared/verify/mod.ts";

const checkPrefix = z.string().regex(
  /^[a-z_]+(\.[a-z0-9_-]+)*$/,
  "must be a check id like freshness.database",
);

/** What a caller may ask of a verification. */
export const verifyRequestSchema = z.strictObject({
  sample: z.union([z.literal("all"), z.number().int().min(0).max(100_000)]).optional(),
  only: z.array(checkPrefix).min(1).max(20).optional(),
});

const TRIGGER = { cron: "cron", admin: "manual", service: "api" } as const;

async function verify(
  caller: Caller,
  input: z.infer<typeof verifyRequestSchema>,
): Promise<Response> {
  const context = app(STEPS);
  const report = await verifyBackups(
    { sql: context.sql, store: context.store, config: context.config },
    {
      trigger: TRIGGER[caller.kind],
      requestedBy: caller.subject,
      sample: input.sample,
      only: input.only,
    },
  );
  return json(report, report.status === "fail" ? 500 : 200);
}

function fromQuery(url: URL): unknown {
  const allowed = new Set(["sample", "only"]);
  const unknown = [...url.searchParams.keys()].filter((key) => !allowed.has(key));
  if (unknown.length) {
    throw badRequest(
      `Unknown query parameter ${unknown.map((k) => `"${k}"`).join(", ")}: use sample or only`,
    );
  }
  const sample = url.searchParams.get("sample");
  const only = url.searchParams.get("only");
  return {
    sample: sample === null
      ? undefined
      : sample === "all"
      ? "all"
      : /^\d+$/.test(sample)
      ? Number(sample)
      : sample,
    only: only === null ? undefined : only.split(",").map((s) => s.trim()),
  };
}

/** The function's handler, served by Supabase's runtime or the local functions host. */
export const handler = route({
  async GET(request) {
    const caller = await authorize(request, callerSettings(), ["cron", "admin", "service"]);
    return await verify(caller, verifyRequestSchema.parse(fromQuery(new URL(request.url))));
  },
  async POST(request) {
    const caller = await authorize(request, callerSettings(), ["cron", "admin", "service"]);
    return await verify(caller, verifyRequestSchema.parse(await readJson(request)));
  },
});

if (import.meta.main) Deno.serve(handler);
