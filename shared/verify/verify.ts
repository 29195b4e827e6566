/**
 * `verifyBackups()`: runs every check, records the result as a `verify` run, updates the
 * alert state and sends the alerts due. A check that throws or overruns is reported as a
 * failed check, never as a crashed verification; a channel that fails never breaks it.
 *
 * @module
 */
import type postgres from "postgres";
import type { Config } from "../config/mod.ts";
import { type AlertSend, evaluateAlerts } from "../alerts/mod.ts";
import { notify } from "../notify/notify.ts";
import type { Notification } from "../notify/message.ts";
import type { NotifyResult } from "../notify/notify.ts";
import { startHeartbeat } from "../runs/heartbeat.ts";
import type { RunStore, RunTrigger } from "../runs/mod.ts";
import { CHECKS } from "./checks/mod.ts";
import { describeError } from "./inventory.ts";
import { closeTargets, openVerifyTargets } from "./targets.ts";
import type {
  Check,
  CheckResult,
  CheckStatus,
  VerifyContext,
  VerifyOptions,
  VerifyTarget,
} from "./types.ts";

/** What verification needs from the process. */
export interface VerifyDeps {
  sql: postgres.Sql;
  store: RunStore;
  config: Config;
  /** Opened targets; default: the configured ones, opened and closed by this call. */
  targets?: VerifyTarget[];
  /** Sends alert messages; default: {@link notify} with the configuration. */
  send?: (notification: Notification) => Promise<NotifyResult>;
}

/** Options of one verification. */
export interface VerifyRunOptions extends Partial<VerifyOptions> {
  trigger?: RunTrigger;
  requestedBy?: string;
  /** Send alerts (default true). */
  alerts?: boolean;
  /** Longest a single check may take (default 60 s). */
  checkTimeoutMs?: number;
  /** Only the checks whose ids start with one of these (default: all; alerts then skip). */
  only?: string[];
  now?: Date;
  /** The checks to run (tests); default {@link CHECKS}. */
  checks?: readonly Check[];
}

/** The answer of a verification. */
export interface VerifyReport {
  status: CheckStatus;
  /** One sentence for the whole verification. */
  summary: string;
  runId: string;
  startedAt: string;
  ms: number;
  checks: CheckResult[];
  alerts: AlertSend[];
}

/** Defaults of {@link VerifyOptions} not taken from the configuration. */
export const VERIFY_DEFAULTS: Omit<VerifyOptions, "sample"> = {
  staleAfterMs: 10 * 60_000,
  failureWindowMs: 24 * 3_600_000,
  sizeFactor: 2,
  sizeHistory: 20,
  statLimit: 1_000,
  concurrency: 16,
};

const ORDER: Record<CheckStatus, number> = { ok: 0, warn: 1, fail: 2 };

/** Runs the checks, records a `verify` run, evaluates alerts. Throws only if the run cannot be recorded. */
export async function verifyBackups(
  deps: VerifyDeps,
  options: VerifyRunOptions = {},
): Promise<VerifyReport> {
  const started = performance.now();
  const now = options.now ?? new Date();
  const run = await deps.store.create({
    kind: "verify",
    trigger: options.trigger ?? "api",
    requestedBy: options.requestedBy,
    targets: Object.keys(deps.config.targets),
  });
  await deps.store.claim(run.id);
  const stopHeartbeat = startHeartbeat(deps.store, run.id);
  const ownTargets = !deps.targets;
  let targets: VerifyTarget[] = deps.targets ?? [];
  const results: CheckResult[] = [];
  try {
    if (ownTargets) {
      try {
        targets = await openVerifyTargets(deps.config);
      } catch (error) {
        results.push({
          id: "targets",
          name: "Targets",
          status: "fail",
          summary: `The targets could not be opened: ${describeError(error)}`,
          nextStep: "Fix SAUVEGARDE_TARGETS, the S3 settings or SAUVEGARDE_ENCRYPTION_KEYS",
        });
      }
    }
    const memo = new Map<string, Promise<unknown>>();
    const context: VerifyContext = {
      sql: deps.sql,
      store: deps.store,
      config: deps.config,
      targets,
      now,
      options: {
        ...VERIFY_DEFAULTS,
        sample: deps.config.verifySample,
        ...definedOnly(options),
      },
      once<T>(key: string, compute: () => Promise<T>): Promise<T> {
        let pending = memo.get(key) as Promise<T> | undefined;
        if (!pending) {
          pending = compute();
          memo.set(key, pending);
        }
        return pending;
      },
    };
    const checks = (options.checks ?? CHECKS).filter((check) =>
      !options.only ||
      options.only.some((prefix) => check.id.startsWith(prefix) || prefix.startsWith(check.id))
    );
    const timeout = options.checkTimeoutMs ?? 60_000;
    const outcomes = await Promise.all(checks.map((check) => runCheck(check, context, timeout)));
    results.push(...outcomes.flat());
  } finally {
    stopHeartbeat();
    if (ownTargets) await closeTargets(targets);
  }
  const checks = options.only
    ? results.filter((r) => options.only!.some((prefix) => r.id.startsWith(prefix)))
    : results;
  const status = checks.reduce<CheckStatus>(
    (worst, r) => (ORDER[r.status] > ORDER[worst] ? r.status : worst),
    "ok",
  );
  const summary = summarise(checks);
  const ms = Math.round(performance.now() - started);
  const failing = checks.filter((r) => r.status === "fail");
  await deps.store.finish(run.id, {
    status: status === "fail" ? "failed" : "succeeded",
    error: failing.length
      ? failing.map((r) => `${r.id}: ${r.summary}`).join("\n").slice(0, 4000)
      : undefined,
    items: checks.length,
    details: {
      status,
      summary,
      ms,
      checks: checks.map(({ id, status, summary }) => ({ id, status, summary })),
    },
  });
  let alerts: AlertSend[] = [];
  if ((options.alerts ?? true) && !options.only) {
    try {
      alerts = await evaluateAlerts(
        checks.map((r) => ({
          key: r.id,
          name: r.name,
          status: r.status,
          summary: r.summary,
          nextStep: r.nextStep,
        })),
        {
          sql: deps.sql,
          send: deps.send ?? ((n) => notify(n, { config: deps.config, sql: deps.sql })),
          repeatMs: deps.config.alertRepeatMs,
          runId: run.id,
          now,
        },
      );
    } catch (error) {
      console.error(`Alert evaluation failed: ${describeError(error)}`);
    }
  }
  return { status, summary, runId: run.id, startedAt: now.toISOString(), ms, checks, alerts };
}

async function runCheck(
  check: Check,
  context: VerifyContext,
  timeoutMs: number,
): Promise<CheckResult[]> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const results = await Promise.race([
      check.run(context),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`it took longer than ${Math.round(timeoutMs / 1000)} s`)),
          timeoutMs,
        );
      }),
    ]);
    const ms = Math.round(performance.now() - started);
    return results.map((r) => ({ ...r, ms }));
  } catch (error) {
    return [{
      id: check.id,
      name: `Check ${check.id}`,
      status: "fail",
      summary: `The ${check.id} check could not run: ${describeError(error)}`,
      nextStep:
        "Read the verify run's error and the function logs; the check itself is broken or a dependency is down",
      ms: Math.round(performance.now() - started),
    }];
  } finally {
    clearTimeout(timer);
  }
}

function summarise(checks: CheckResult[]): string {
  const failing = checks.filter((r) => r.status === "fail");
  const warning = checks.filter((r) => r.status === "warn");
  if (failing.length) {
    return `${failing.length} of ${checks.length} checks fail (${
      failing.map((r) => r.id).join(", ")
    })${warning.length ? `, ${warning.length} warn` : ""}`;
  }
  if (warning.length) {
    return `All ${checks.length} checks pass, ${warning.length} with a warning (${
      warning.map((r) => r.id).join(", ")
    })`;
  }
  return `All ${checks.length} checks pass`;
}

function definedOnly(options: VerifyRunOptions): Partial<VerifyOptions> {
  const keys: Array<keyof VerifyOptions> = [
    "sample",
    "rotation",
    "staleAfterMs",
    "failureWindowMs",
    "sizeFactor",
    "sizeHistory",
    "statLimit",
    "concurrency",
  ];
  return Object.fromEntries(
    keys.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]),
  );
}
