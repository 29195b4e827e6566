/**
 * A step's budget: how much wall time, CPU time and data one invocation may spend before it
 * checkpoints and hands over to the next. Edge Functions get 2 s of CPU per request and a
 * 150 s (Free) or 400 s (paid) wall clock; the worker has no limits.
 *
 * @module
 */
import process from "node:process";

/** Limits for one step; omit a limit to leave it unbounded. */
export interface BudgetLimits {
  wallMs?: number;
  /** CPU time of this process (user + system), where the runtime can measure it. */
  cpuMs?: number;
  /** Raw bytes read from the source. */
  bytes?: number;
  /**
   * Not a limit but the grain of a step's work: raw COPY bytes of one key-ordered slice of a
   * large table, between which a database step checks its budget. Omitted: derived from the
   * limits above (none: tables are never split); 0: tables are never split.
   */
  sliceBytes?: number;
}

/** Whether no limit bounds a step (the worker's and the CLI's steps). */
export function isUnbounded(limits: BudgetLimits): boolean {
  return limits.wallMs === undefined && limits.cpuMs === undefined && limits.bytes === undefined;
}

/** Plans whose limits we fit by default. */
export const PLAN_BUDGETS: Record<"free" | "paid" | "worker", BudgetLimits> = {
  // 150 s wall clock, leave room to write the checkpoint and answer.
  free: { wallMs: 120_000, cpuMs: 1_600 },
  paid: { wallMs: 360_000, cpuMs: 1_600 },
  worker: {},
};

/** Tracks one step's spending against its limits. */
export class Budget {
  readonly #startWall = performance.now();
  readonly #startCpu = cpuMs();
  #bytes = 0;

  constructor(readonly limits: BudgetLimits) {}

  /** Counts source bytes processed. */
  addBytes(n: number): void {
    this.#bytes += n;
  }

  /** Spending so far. */
  spent(): { wallMs: number; cpuMs: number; bytes: number } {
    return {
      wallMs: Math.round(performance.now() - this.#startWall),
      cpuMs: Math.round(cpuMs() - this.#startCpu),
      bytes: this.#bytes,
    };
  }

  /** True once any limit is reached: finish the current unit of work and checkpoint. */
  exhausted(): boolean {
    const spent = this.spent();
    const { wallMs, cpuMs: cpu, bytes } = this.limits;
    return (wallMs !== undefined && spent.wallMs >= wallMs) ||
      (cpu !== undefined && spent.cpuMs >= cpu) ||
      (bytes !== undefined && spent.bytes >= bytes);
  }
}

function cpuMs(): number {
  try {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  } catch {
    return 0; // not measurable here: wall and byte limits still apply
  }
}
