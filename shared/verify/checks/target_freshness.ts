/**
 * Freshness per target: does each target hold a backup of each kind younger than the
 * objective? A target that stopped receiving backups (full, credentials expired, removed
 * bucket) shows here even while the others are fine. Only full database backups count, and
 * a backup dated in the future (beyond 5 minutes of clock skew) fails the check: it is
 * never the latest, and is either a clock running ahead or a manifest someone else wrote.
 *
 * @module
 */
import { manifestInventory } from "../inventory.ts";
import { futureIds, latestAmong } from "../latest.ts";
import { idTime } from "../manifest_facts.ts";
import { formatAge, objectiveFor } from "../objectives.ts";
import { runInProgress } from "../facts.ts";
import type { BackupKind, Check, CheckResult, CheckStatus, VerifyContext } from "../types.ts";

const NOUN: Record<BackupKind, string> = {
  database: "database backup",
  storage: "Storage snapshot",
};

/** What counts as the latest (`latest.ts`): partial and safety backups do not. */
const LATEST: Record<BackupKind, string> = {
  database: "full database backup",
  storage: "Storage snapshot",
};

/** One problem or fact about a kind on a target. */
interface Finding {
  status: CheckStatus;
  text: string;
}

async function targetFindings(context: VerifyContext): Promise<Map<string, Finding[]>> {
  const findings = new Map<string, Finding[]>(context.targets.map((t) => [t.name, []]));
  for (const kind of ["database", "storage"] as const) {
    const inventory = await manifestInventory(context, kind);
    const anywhere = inventory.some((entry) => entry.ids.length > 0);
    const objective = await objectiveFor(context, kind);
    const running = await runInProgress(context, kind);
    for (const entry of inventory) {
      const list = findings.get(entry.target.name)!;
      if (entry.error) {
        const text = `could not be listed (${entry.error})`;
        if (!list.some((f) => f.text === text)) list.push({ status: "fail", text });
        continue;
      }
      const future = futureIds(context, entry);
      if (future.length) {
        list.push({
          status: "fail",
          text:
            `holds ${future.length} ${NOUN[kind]}${
              future.length === 1 ? "" : "s"
            } dated in the future (${future.slice(-3).join(", ")}), never taken as the latest: ` +
            "a clock running ahead or a manifest someone else wrote",
        });
      }
      const newest = await latestAmong(context, kind, entry.ids);
      if (!newest) {
        if (anywhere) list.push({ status: "fail", text: `holds no ${LATEST[kind]}` });
        continue;
      }
      const at = idTime(newest);
      if (!at) continue;
      const age = context.now.getTime() - at.getTime();
      const text = `newest ${LATEST[kind]} ${newest} is ${formatAge(age)} old`;
      if (age <= objective.ms) list.push({ status: "ok", text });
      else {
        list.push({
          status: running ? "warn" : "fail",
          text: `${text}, beyond the ${formatAge(objective.ms)} objective`,
        });
      }
    }
  }
  return findings;
}

/** One result per target: `freshness.target.<name>`. */
export const targetFreshnessCheck: Check = {
  id: "freshness.target",
  async run(context) {
    const findings = await targetFindings(context);
    return context.targets.map((target): CheckResult => {
      const list = findings.get(target.name)!;
      const worst: CheckStatus = list.some((f) => f.status === "fail")
        ? "fail"
        : list.some((f) => f.status === "warn")
        ? "warn"
        : "ok";
      const shown = worst === "ok" ? list : list.filter((f) => f.status !== "ok");
      const summary = shown.length
        ? `Target ${target.name}: ${shown.map((f) => f.text).join("; ")}`
        : `Target ${target.name} holds no backups yet`;
      return {
        id: `freshness.target.${target.name}`,
        name: `Freshness on target ${target.name}`,
        status: worst,
        summary,
        nextStep: worst === "ok"
          ? undefined
          : `Check that target ${target.name} is reachable and writable with the configured credentials, then run a backup; the run's error says why it was skipped`,
        details: { location: target.target.location, findings: list },
      };
    });
  },
};
