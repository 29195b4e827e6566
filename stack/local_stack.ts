/**
 * The whole local stack in one call, for tests and the demo: a throwaway PostgreSQL 15 with
 * pg_cron, the Supabase-like baseline, the test-only pg_net and Vault stand-ins and our
 * migrations; optionally a local S3-protocol server and a Slack receiver; the functions served
 * over HTTP at `/functions/v1/<name>` with an app configured for all of it.
 *
 * @module
 */
import postgres from "postgres";
import { type App, type AppOptions, createApp, useApp } from "../shared/app/mod.ts";
import { loadConfig, resetConfig, useConfig } from "../shared/config/mod.ts";
import type { BudgetLimits } from "../shared/jobs/mod.ts";
import { applyMigrations } from "../shared/pg/migrate.ts";
import { type AuthStandIn, createAuthStandIn } from "./auth_standin.ts";
import { type FunctionsHost, startFunctionsHost } from "./functions_host.ts";
import { freePort } from "./ports.ts";
import { type PostgresCluster, startPostgres } from "./postgres.ts";
import { type S3Server, startS3Server } from "./s3_server.ts";
import { type SlackReceiver, startSlackReceiver } from "./slack_receiver.ts";
import { STEPS } from "../shared/steps/mod.ts";
import { authSettingsOf } from "../shared/http/auth.ts";

/** A running local stack. */
export interface LocalStack {
  readonly db: PostgresCluster;
  readonly s3?: S3Server;
  /** The stand-in for Supabase Storage's S3 endpoint (the source of Storage snapshots). */
  readonly storage?: S3Server;
  readonly slack?: SlackReceiver;
  readonly functions: FunctionsHost;
  /** The stand-in for Supabase Auth, at `/auth/v1/` on the functions' origin. */
  readonly auth: AuthStandIn;
  /** The project's publishable key, as a browser client is given it. */
  readonly publishableKey: string;
  /** The environment the app was configured from (what `supabase secrets set` would hold). */
  readonly env: Record<string, string>;
  readonly app: App;
  /** Base URL of a function. */
  functionUrl(name: string): string;
  /** Folder of the local file target. */
  readonly localTargetDir: string;
  stop(): Promise<void>;
}

/** Options for {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Start an S3 server and add an `s3` target (bucket "backups"). */
  s3?: boolean;
  /** Start a second S3 server standing in for Supabase Storage (STORAGE_S3_* configured). */
  storage?: boolean;
  slack?: boolean;
  /** Extra or overriding environment. */
  env?: Record<string, string>;
  /** The steps the stack's app runs (default: every step, as the worker runs them). */
  steps?: AppOptions["steps"];
  limits?: BudgetLimits;
  staleAfterMs?: number;
  heartbeatMs?: number;
}

/** The JWT secret of the local stack (tests sign user tokens with it). */
export const LOCAL_JWT_SECRET = "local-stack-jwt-secret-at-least-32-characters";

/** Starts everything; `stop()` removes everything. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    const db = await startPostgres({ supabase: true, standIns: true });
    stops.push(() => db.stop());
    await applyMigrations(db.url);

    const localTargetDir = await Deno.makeTempDir({ prefix: "sauvegarde-target-" });
    stops.push(() => Deno.remove(localTargetDir, { recursive: true }));
    const targets = [`local=file://${localTargetDir}`];

    let s3: S3Server | undefined;
    if (options.s3) {
      s3 = await startS3Server({ buckets: ["backups", "offsite-backups"] });
      stops.push(() => s3!.stop());
      targets.push(`s3=s3://backups/sauvegarde?endpoint=${encodeURIComponent(s3.endpoint)}`);
    }
    let storage: S3Server | undefined;
    if (options.storage) {
      storage = await startS3Server();
      stops.push(() => storage!.stop());
    }
    const slack = options.slack ? startSlackReceiver() : undefined;
    if (slack) stops.push(() => slack.stop());

    const port = await freePort();
    const publishableKey = `sb_publishable_${crypto.randomUUID().replaceAll("-", "")}`;
    const env: Record<string, string> = {
      SUPABASE_URL: `http://127.0.0.1:${port}`,
      SUPABASE_DB_URL: db.url,
      SUPABASE_JWT_SECRET: LOCAL_JWT_SECRET,
      SUPABASE_SECRET_KEYS: JSON.stringify({ default: `sb_secret_${crypto.randomUUID()}` }),
      SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: publishableKey }),
      SAUVEGARDE_CRON_SECRET: `cron-${crypto.randomUUID()}`,
      SAUVEGARDE_TARGETS: targets.join(","),
      ...(s3
        ? {
          S3_REGION: s3.region,
          S3_ACCESS_KEY_ID: s3.accessKeyId,
          S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        }
        : {}),
      ...(storage
        ? {
          STORAGE_S3_ENDPOINT: storage.endpoint,
          STORAGE_S3_REGION: storage.region,
          STORAGE_S3_ACCESS_KEY_ID: storage.accessKeyId,
          STORAGE_S3_SECRET_ACCESS_KEY: storage.secretAccessKey,
        }
        : {}),
      ...(slack ? { SLACK_WEBHOOK_URL: slack.url } : {}),
      ...options.env,
    };
    const settings = loadConfig(env);
    useConfig(settings);
    stops.push(() => Promise.resolve(resetConfig()));
    const app = createApp(settings, {
      steps: options.steps ?? STEPS,
      limits: options.limits,
      staleAfterMs: options.staleAfterMs,
      heartbeatMs: options.heartbeatMs,
    });
    stops.push(() => app.close());
    const previous = useApp(app);
    stops.push(() => Promise.resolve(void useApp(previous)));

    // What an operator stores once in Vault so the schedules can call the functions.
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await sql`select vault.create_secret(${env.SUPABASE_URL}, 'project_url')`;
      await sql`select vault.create_secret(${env.SAUVEGARDE_CRON_SECRET}, 'sauvegarde_cron_secret')`;
    } finally {
      await sql.end();
    }

    const auth = createAuthStandIn({
      supabaseUrl: env.SUPABASE_URL,
      jwtSecret: env.SUPABASE_JWT_SECRET,
    });
    const functions = await startFunctionsHost({
      port,
      auth: authSettingsOf(settings),
      authService: auth.handle,
    });
    stops.push(() => functions.stop());
    return {
      db,
      s3,
      storage,
      slack,
      functions,
      auth,
      publishableKey,
      env,
      app,
      localTargetDir,
      functionUrl: (name) => `${functions.url}/functions/v1/${name}`,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
