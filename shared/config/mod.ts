/**
 * The one place Sauvegarde reads its environment.
 *
 * `loadConfig()` validates every variable with zod and reports all problems at once, each
 * naming the variable and the shape it should have. `redactConfig()` is the only form of the
 * configuration that may be printed or logged.
 *
 * @module
 */
import { z } from "zod";
import { redactUrl } from "../util/redact.ts";
import {
  DATABASE_ENV_NAMES,
  DatabaseSettingsError,
  resolveDatabase,
  type ResolvedDatabase,
} from "./pg_env.ts";
import {
  DEFAULT_CLASS_RETENTION,
  DEFAULT_RETENTION,
  parseRetentionPolicy,
  type RetentionPolicy,
} from "./retention_policy.ts";

/** Where backups go when nothing is configured: a folder beside the project. */
export const DEFAULT_LOCAL_TARGET = "file://" +
  new URL("../../.sauvegarde/backups", import.meta.url).pathname;

const url = (what: string) =>
  z.string().refine((value) => URL.canParse(value), { message: `must be a URL, like ${what}` });

const postgresUrl = url("postgres://user:password@host:5432/postgres").refine(
  (value) => /^postgres(ql)?:$/.test(new URL(value).protocol),
  { message: "must start with postgres:// or postgresql://" },
);

/** What SAUVEGARDE_DB_POOLER may say sits between Sauvegarde and the database. */
const POOLER_MODES = ["transaction", "session", "none"] as const;
type PoolerMode = typeof POOLER_MODES[number];

const keyList = z.string().refine(
  (value) =>
    value.split(",").every((entry) => /^[A-Za-z0-9_.-]+:[A-Za-z0-9+/]{43}=$/.test(entry.trim())),
  {
    message:
      'must be "keyid:base64-of-32-bytes[,keyid2:…]" (generate one: openssl rand -base64 32)',
  },
);

const targetList = z.string().transform((value, context) => {
  const targets: Record<string, string> = {};
  for (const entry of value.split(/[\s,]+/).filter(Boolean)) {
    const match = /^([a-z][a-z0-9_-]*)=(.+)$/.exec(entry);
    if (!match) {
      context.addIssue({
        code: "custom",
        message: `entry "${
          redactUrl(entry.split("=")[0])
        }" must look like name=file:///path or name=s3://bucket/prefix`,
      });
      return z.NEVER;
    }
    targets[match[1]] = match[2];
  }
  if (Object.keys(targets).length === 0) {
    context.addIssue({ code: "custom", message: "must name at least one target" });
    return z.NEVER;
  }
  return targets;
});

const booleanFlag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const positiveInt = z.coerce.number().int().positive();

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** "90s", "15m", "24h", "31d" → milliseconds. */
const duration = z.string().regex(/^\d+[smhd]$/, 'must be a duration like "15m", "24h" or "31d"')
  .transform((value) => Number(value.slice(0, -1)) * DURATION_UNITS[value.slice(-1)]);
const nameList = z.string().regex(
  /^\s*[a-z][a-z0-9_-]*(\s*,\s*[a-z][a-z0-9_-]*)*\s*$/,
  'must be a comma-separated list of names, like "offsite,archive"',
).transform((value) => value.split(",").map((name) => name.trim()));

const retention = z.string().transform((value, context) => {
  try {
    return parseRetentionPolicy(value);
  } catch (error) {
    context.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});
const classRetention = z.string().transform((value, context) => {
  try {
    return parseRetentionPolicy(value, DEFAULT_CLASS_RETENTION);
  } catch (error) {
    context.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

const environmentSchema = z.object({
  SUPABASE_URL: url("https://<ref>.supabase.co").optional(),
  SUPABASE_DB_URL: postgresUrl.optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
  SUPABASE_SECRET_KEYS: z.string().min(1).optional(),
  SUPABASE_JWKS: z.string().min(1).optional(),
  SUPABASE_JWT_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  SAUVEGARDE_CRON_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  SAUVEGARDE_TARGETS: targetList.optional(),
  SAUVEGARDE_ENCRYPTION_KEYS: keyList.optional(),
  SAUVEGARDE_REQUIRE_ENCRYPTION: booleanFlag.optional(),
  SAUVEGARDE_ACCEPT_UNAUTHENTICATED: booleanFlag.optional(),
  SAUVEGARDE_ALLOW_INCOMPLETE: booleanFlag.optional(),
  SAUVEGARDE_COMPRESSION: z.enum(["zstd", "gzip", "none"]).optional(),
  SAUVEGARDE_STEP_BUDGET_MS: positiveInt.optional(),
  SAUVEGARDE_STEP_CPU_MS: positiveInt.optional(),
  SAUVEGARDE_STEP_BYTES: positiveInt.optional(),
  S3_ENDPOINT: url("https://s3.eu-central-1.amazonaws.com").optional(),
  S3_REGION: z.string().min(1).optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  STORAGE_S3_ENDPOINT: url("https://<ref>.storage.supabase.co/storage/v1/s3").optional(),
  STORAGE_S3_REGION: z.string().min(1).optional(),
  STORAGE_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  STORAGE_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  SLACK_WEBHOOK_URL: url("https://hooks.slack.com/services/…").optional(),
  ALERT_WEBHOOK_URL: url("https://example.com/hooks/backups").optional(),
  SAUVEGARDE_DATABASE_OBJECTIVE: duration.optional(),
  SAUVEGARDE_STORAGE_OBJECTIVE: duration.optional(),
  SAUVEGARDE_RESTORE_TEST_MAX_AGE: duration.optional(),
  SAUVEGARDE_RESTORE_TEST_DB_URL: postgresUrl.optional(),
  SAUVEGARDE_APP_TESTS_DIR: z.string().min(1).optional(),
  SAUVEGARDE_DB_POOLER: z.enum(POOLER_MODES).optional(),
  SAUVEGARDE_ALERT_REPEAT: duration.optional(),
  SAUVEGARDE_NOTIFY_ON_SUCCESS: booleanFlag.optional(),
  SAUVEGARDE_OFFSITE_TARGETS: nameList.optional(),
  SAUVEGARDE_CRON_JOBS: nameList.optional(),
  SAUVEGARDE_VERIFY_SAMPLE: z.union([z.literal("all"), positiveInt]).optional(),
  SAUVEGARDE_RETENTION: retention.optional(),
  SAUVEGARDE_DATABASE_RETENTION: retention.optional(),
  SAUVEGARDE_STORAGE_RETENTION: retention.optional(),
  SAUVEGARDE_PARTIAL_RETENTION: classRetention.optional(),
  SAUVEGARDE_PRUNE_GRACE: duration.optional(),
});

/** S3 connection settings (shared by backup targets and the Storage source). */
export interface S3Settings {
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** Sauvegarde's validated configuration. */
export interface Config {
  supabaseUrl?: string;
  databaseUrl?: string;
  /** Secrets accepted from server-side callers (cron, other functions, the service role). */
  serviceKeys: string[];
  cronSecret?: string;
  jwks?: string;
  jwtSecret?: string;
  /** Named backup targets: name → target URL. */
  targets: Record<string, string>;
  encryptionKeys?: string;
  requireEncryption: boolean;
  /**
   * With keys set, still read plain manifests and blobs (stored before keys were set), as
   * unauthenticated (SAUVEGARDE_ACCEPT_UNAUTHENTICATED).
   */
  acceptUnauthenticated: boolean;
  /**
   * Scheduled and triggered database backups that cannot reproduce everything are recorded as
   * `incomplete` instead of failing (SAUVEGARDE_ALLOW_INCOMPLETE; default false).
   */
  allowIncomplete: boolean;
  compression: "zstd" | "gzip" | "none";
  /** Limits of one budgeted step (SAUVEGARDE_STEP_BUDGET_MS, SAUVEGARDE_STEP_CPU_MS). */
  stepBudget?: { wallMs?: number; cpuMs?: number; bytes?: number };
  s3: S3Settings;
  storageSource?: S3Settings;
  slackWebhookUrl?: string;
  alertWebhookUrl?: string;
  /**
   * Freshness objectives (maximum age of the latest good backup), in ms. Unset: 15 min
   * (database) / 1 h (storage) when the schedule is that frequent, else 24 h.
   */
  objectives: { database?: number; storage?: number };
  /** Maximum age of the last successful restore test, in ms. */
  restoreTestMaxAgeMs: number;
  /** Server where restore tests create their scratch database; unset: SUPABASE_DB_URL's. */
  restoreTestDbUrl?: string;
  /**
   * Folder of the project's pgTAP files (`*.sql`, as `supabase test db` runs them) that restore
   * tests run on the restored copy (SAUVEGARDE_APP_TESTS_DIR); unset: `supabase/tests` under
   * the current directory, resolved by the caller (DEFAULT_APP_TESTS_DIR in restore_test).
   */
  appTestsDir?: string;
  /** How often an alert still failing is sent again, in ms. */
  alertRepeatMs: number;
  /** Also notify when backups, snapshots and restores succeed. */
  notifyOnSuccess: boolean;
  /** Targets declared offsite by name; unset: decided from each target's location. */
  offsiteTargets?: string[];
  /**
   * pg_cron jobs verification expects to exist and to run; unset: the suite's jobs that are
   * on by default (public.sauvegarde_schedules), else {@link DEFAULT_CRON_JOBS}.
   */
  cronJobs?: string[];
  /** Blobs read back and re-hashed per verification: a count, or "all". */
  verifySample: number | "all";
  /** Retention per backup kind (SAUVEGARDE_RETENTION, then the per-kind variables). */
  retention: { database: RetentionPolicy; storage: RetentionPolicy };
  /**
   * Retention of partial, safety and other-database backups, each class on its own and never
   * in full backups' slots (SAUVEGARDE_PARTIAL_RETENTION).
   */
  classRetention: RetentionPolicy;
  /** Unreferenced blobs younger than this are never pruned, in ms (default 24 h). */
  pruneGraceMs: number;
}

/** The pg_cron jobs expected when neither configuration nor the schedules table say. */
export const DEFAULT_CRON_JOBS: readonly string[] = [
  "sauvegarde-database-backup",
  "sauvegarde-storage-snapshot",
  "sauvegarde-verify",
];

/** Raised when the environment does not validate; the message lists every problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function parseSecretKeys(json: string | undefined, problems: string[]): string[] {
  if (!json) return [];
  try {
    const parsed = JSON.parse(json);
    if (parsed && typeof parsed === "object") {
      return Object.values(parsed).filter((v): v is string => typeof v === "string");
    }
  } catch {
    // fall through to the problem below
  }
  problems.push('SUPABASE_SECRET_KEYS must be a JSON object like {"default":"sb_secret_…"}');
  return [];
}

/**
 * Validates an environment (default: the process environment) into a {@link Config}.
 * Throws {@link ConfigError} naming every missing or invalid variable.
 */
export function loadConfig(env: Record<string, string | undefined> = readEnvironment()): Config {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const result = environmentSchema.safeParse(cleaned);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push(`${issue.path.join(".")} ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const e = result.data;
  const serviceKeys = [
    ...parseSecretKeys(e.SUPABASE_SECRET_KEYS, problems),
    ...(e.SUPABASE_SERVICE_ROLE_KEY ? [e.SUPABASE_SERVICE_ROLE_KEY] : []),
  ];
  if (e.SAUVEGARDE_REQUIRE_ENCRYPTION && !e.SAUVEGARDE_ENCRYPTION_KEYS) {
    problems.push(
      "SAUVEGARDE_ENCRYPTION_KEYS is required because SAUVEGARDE_REQUIRE_ENCRYPTION is true",
    );
  }
  const storageParts = [e.STORAGE_S3_ACCESS_KEY_ID, e.STORAGE_S3_SECRET_ACCESS_KEY];
  if (e.STORAGE_S3_ENDPOINT && storageParts.some((part) => !part)) {
    problems.push(
      "STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY are required with STORAGE_S3_ENDPOINT",
    );
  }
  if (problems.length) throw new ConfigError(problems);
  return {
    supabaseUrl: e.SUPABASE_URL,
    databaseUrl: markPooler(e.SUPABASE_DB_URL, e.SAUVEGARDE_DB_POOLER),
    serviceKeys,
    cronSecret: e.SAUVEGARDE_CRON_SECRET,
    jwks: e.SUPABASE_JWKS,
    jwtSecret: e.SUPABASE_JWT_SECRET,
    targets: e.SAUVEGARDE_TARGETS ?? { local: DEFAULT_LOCAL_TARGET },
    encryptionKeys: e.SAUVEGARDE_ENCRYPTION_KEYS,
    requireEncryption: e.SAUVEGARDE_REQUIRE_ENCRYPTION ?? false,
    acceptUnauthenticated: e.SAUVEGARDE_ACCEPT_UNAUTHENTICATED ?? false,
    allowIncomplete: e.SAUVEGARDE_ALLOW_INCOMPLETE ?? false,
    compression: e.SAUVEGARDE_COMPRESSION ?? "zstd",
    stepBudget: e.SAUVEGARDE_STEP_BUDGET_MS || e.SAUVEGARDE_STEP_CPU_MS || e.SAUVEGARDE_STEP_BYTES
      ? {
        wallMs: e.SAUVEGARDE_STEP_BUDGET_MS,
        cpuMs: e.SAUVEGARDE_STEP_CPU_MS,
        bytes: e.SAUVEGARDE_STEP_BYTES,
      }
      : undefined,
    s3: {
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
    },
    storageSource: e.STORAGE_S3_ENDPOINT
      ? {
        endpoint: e.STORAGE_S3_ENDPOINT,
        region: e.STORAGE_S3_REGION ?? "us-east-1",
        accessKeyId: e.STORAGE_S3_ACCESS_KEY_ID,
        secretAccessKey: e.STORAGE_S3_SECRET_ACCESS_KEY,
      }
      : undefined,
    slackWebhookUrl: e.SLACK_WEBHOOK_URL,
    alertWebhookUrl: e.ALERT_WEBHOOK_URL,
    objectives: {
      database: e.SAUVEGARDE_DATABASE_OBJECTIVE,
      storage: e.SAUVEGARDE_STORAGE_OBJECTIVE,
    },
    restoreTestMaxAgeMs: e.SAUVEGARDE_RESTORE_TEST_MAX_AGE ?? 31 * 86_400_000,
    restoreTestDbUrl: markPooler(e.SAUVEGARDE_RESTORE_TEST_DB_URL, e.SAUVEGARDE_DB_POOLER),
    appTestsDir: e.SAUVEGARDE_APP_TESTS_DIR,
    alertRepeatMs: e.SAUVEGARDE_ALERT_REPEAT ?? 4 * 3_600_000,
    notifyOnSuccess: e.SAUVEGARDE_NOTIFY_ON_SUCCESS ?? false,
    offsiteTargets: e.SAUVEGARDE_OFFSITE_TARGETS,
    cronJobs: e.SAUVEGARDE_CRON_JOBS,
    verifySample: e.SAUVEGARDE_VERIFY_SAMPLE ?? 8,
    retention: {
      database: e.SAUVEGARDE_DATABASE_RETENTION ?? e.SAUVEGARDE_RETENTION ??
        { ...DEFAULT_RETENTION },
      storage: e.SAUVEGARDE_STORAGE_RETENTION ?? e.SAUVEGARDE_RETENTION ?? { ...DEFAULT_RETENTION },
    },
    classRetention: e.SAUVEGARDE_PARTIAL_RETENTION ?? { ...DEFAULT_CLASS_RETENTION },
    pruneGraceMs: e.SAUVEGARDE_PRUNE_GRACE ?? 24 * 3_600_000,
  };
}

function readEnvironment(): Record<string, string | undefined> {
  const names = Object.keys(environmentSchema.shape);
  return Object.fromEntries(names.map((name) => [name, Deno.env.get(name)]));
}

/** A run or request named a target the configuration does not have. */
export class UnknownTargetError extends Error {
  constructor(unknown: string[], configured: string[]) {
    super(
      `Unknown target ${unknown.map((n) => `"${n}"`).join(", ")}: configured targets are ${
        configured.join(", ")
      }`,
    );
    this.name = "UnknownTargetError";
  }
}

/**
 * The named targets a run uses, as name → URL, in the order given; every configured target
 * when `names` is empty. Throws {@link UnknownTargetError} naming what is not configured.
 */
export function selectTargets(
  settings: Pick<Config, "targets">,
  names: readonly string[] = [],
): Record<string, string> {
  const configured = Object.keys(settings.targets);
  const chosen = names.length ? names : configured;
  const unknown = chosen.filter((name) => !(name in settings.targets));
  if (unknown.length) throw new UnknownTargetError(unknown, configured);
  return Object.fromEntries(chosen.map((name) => [name, settings.targets[name]]));
}

/**
 * The database a CLI command connects to: `--db` (`flag`) when given, else `SUPABASE_DB_URL`,
 * else libpq's `PG*` variables, the password from `PGPASSWORD` or the password file when the
 * URL has none (`pg_env.ts`). Throws {@link DatabaseSettingsError} with what to set.
 */
export async function resolveCliDatabase(flag: string | undefined): Promise<ResolvedDatabase> {
  const env = Object.fromEntries(DATABASE_ENV_NAMES.map((name) => [name, Deno.env.get(name)]));
  const mode = Deno.env.get("SAUVEGARDE_DB_POOLER") || undefined;
  if (mode !== undefined && !(POOLER_MODES as readonly string[]).includes(mode)) {
    throw new DatabaseSettingsError(
      `SAUVEGARDE_DB_POOLER must be one of ${POOLER_MODES.join(", ")}, got "${mode}"`,
    );
  }
  const resolved = await resolveDatabase(flag, env);
  return { ...resolved, url: markPooler(resolved.url, mode as PoolerMode | undefined)! };
}

/**
 * A database URL marked as SAUVEGARDE_DB_POOLER says (the mark `pg/pooler.ts` reads):
 * `transaction` adds `pgbouncer=true`, `session` and `none` add `pgbouncer=false`. Unset, or a
 * URL that says it itself, leaves the URL as it is.
 */
export function markPooler(
  url: string | undefined,
  mode: PoolerMode | undefined,
): string | undefined {
  if (url === undefined || mode === undefined) return url;
  const parsed = new URL(url);
  if (parsed.searchParams.has("pgbouncer")) return url;
  parsed.searchParams.set("pgbouncer", mode === "transaction" ? "true" : "false");
  return parsed.href;
}

let cached: Config | undefined;

/** The process configuration, validated once and then reused. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/** Forgets the cached configuration (tests change the environment between cases). */
export function resetConfig(): void {
  cached = undefined;
}

/**
 * Installs a configuration for this isolate (the local stack and tests, which must not touch
 * the process environment: test files run side by side in one process).
 */
export function useConfig(next: Config): void {
  cached = next;
}

const SECRET_FIELDS = new Set([
  "serviceKeys",
  "cronSecret",
  "jwtSecret",
  "encryptionKeys",
  "secretAccessKey",
  "accessKeyId",
  "slackWebhookUrl",
  "alertWebhookUrl",
]);

/** A copy of the configuration safe to print: secrets replaced, passwords stripped from URLs. */
export function redactConfig(value: unknown, field = ""): unknown {
  if (value === undefined || value === null) return value;
  if (SECRET_FIELDS.has(field)) return Array.isArray(value) ? value.map(() => "***") : "***";
  if (typeof value === "string") return redactUrl(value);
  if (Array.isArray(value)) return value.map((item) => redactConfig(item));
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, redactConfig(item, key)]),
    );
  }
  return value;
}

/** Removes credentials from every URL in a text (`shared/util/redact.ts`). */
export { redactUrl };
