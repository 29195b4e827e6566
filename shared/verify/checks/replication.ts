/**
 * Replication (3-2-1) of the latest backup of each kind: at least 3 copies of the data (the
 * live project counts as one, each target holding a complete copy as another), on at least
 * 2 kinds of storage, at least 1 of them offsite. Reports what is missing. A rule unmet is a
 * warning; the latest backup complete on no target at all fails.
 *
 * @module
 */
import { latestCopies } from "../copies.ts";
import type { BackupKind, Check, CheckResult, VerifyContext } from "../types.ts";

const NOUN: Record<BackupKind, string> = {
  database: "database backup",
  storage: "Storage snapshot",
};

/** The replication of the latest backup of one kind. */
export async function kindReplication(
  context: VerifyContext,
  kind: BackupKind,
): Promise<CheckResult> {
  const id = `replication.${kind}`;
  const name = kind === "database"
    ? "Database backup copies (3-2-1)"
    : "Storage snapshot copies (3-2-1)";
  const latest = await latestCopies(context, kind);
  if (!latest.backupId) {
    return { id, name, status: "ok", summary: `There is no ${NOUN[kind]} to count copies of yet` };
  }
  const complete = latest.copies.filter((c) => c.state === "complete");
  const lacking = latest.copies.filter((c) => c.state !== "complete");
  const copies = 1 + complete.length;
  const media = new Set(complete.map((c) => c.target.medium));
  const offsite = complete.filter((c) => c.target.offsite);
  const details = {
    backupId: latest.backupId,
    copies,
    kinds: [...media],
    offsite: offsite.map((c) => c.target.name),
    targets: latest.copies.map((c) => ({
      target: c.target.name,
      state: c.state,
      medium: c.target.medium,
      offsite: c.target.offsite,
    })),
  };
  const missing: string[] = [];
  if (copies < 3) {
    missing.push(
      `${3 - copies} more cop${
        3 - copies === 1 ? "y" : "ies"
      } (${copies} of 3, the project included)`,
    );
  }
  if (media.size < 2) {
    missing.push(
      `a second kind of storage (all copies are on ${[...media][0] ?? "nothing"})`,
    );
  }
  if (offsite.length === 0) missing.push("an offsite copy");
  for (const copy of lacking) {
    missing.push(`a complete copy on target ${copy.target.name} (${describeState(copy.state)})`);
  }
  if (complete.length === 0) {
    return {
      id,
      name,
      status: "fail",
      summary: `The latest ${
        NOUN[kind]
      } ${latest.backupId} is complete on no target: only the live project holds the data`,
      nextStep: "See the integrity check for what is damaged, and take a new backup now",
      details,
    };
  }
  if (missing.length) {
    return {
      id,
      name,
      status: "warn",
      summary: `The latest ${NOUN[kind]} ${latest.backupId} misses 3-2-1: ${missing.join("; ")}`,
      nextStep:
        "Add a target on another kind of storage, offsite (an S3 bucket with another provider or region), list it in SAUVEGARDE_TARGETS, and mark offsite ones with SAUVEGARDE_OFFSITE_TARGETS when they are not detected",
      details,
    };
  }
  return {
    id,
    name,
    status: "ok",
    summary: `The latest ${NOUN[kind]} ${latest.backupId} has ${copies} copies (the project and ${
      complete.map((c) => c.target.name).join(", ")
    }) on ${media.size} kinds of storage, ${offsite.length} offsite`,
    details,
  };
}

function describeState(state: string): string {
  switch (state) {
    case "absent":
      return "not there";
    case "incomplete":
      return "parts missing or wrong";
    case "invalid":
      return "manifest invalid";
    case "unreachable":
      return "unreachable";
    default:
      return state;
  }
}

/** 3-2-1 of the latest database backup and Storage snapshot. */
export const replicationCheck: Check = {
  id: "replication",
  run: (context) =>
    Promise.all([kindReplication(context, "database"), kindReplication(context, "storage")]),
};
