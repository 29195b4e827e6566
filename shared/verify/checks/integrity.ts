/**
 * Integrity of the latest backup of each kind: its manifest loads and validates on every
 * target that holds it; every blob it references is stored on each of them with the size the
 * manifest recorded; a rotating sample of blobs (all, by option) is read back, decoded and
 * re-hashed against its id; and, when the configuration requires encryption, the manifest
 * says encrypted and the sampled blobs really are.
 *
 * @module
 */
import { readBlobHeader } from "../../codec/blob_format.ts";
import { blobKey } from "../../repository/mod.ts";
import { latestCopies, type TargetCopy } from "../copies.ts";
import { latestGoodRun } from "../facts.ts";
import { describeError } from "../inventory.ts";
import { mapLimit } from "../../util/concurrency.ts";
import { hourRotation, rotatingSample } from "../sample.ts";
import type { BackupKind, Check, CheckResult, VerifyContext } from "../types.ts";

const NOUN: Record<BackupKind, string> = {
  database: "database backup",
  storage: "Storage snapshot",
};
const NAME: Record<BackupKind, string> = {
  database: "Database backup integrity",
  storage: "Storage snapshot integrity",
};

/** What reading back the sample of one copy found. */
interface SampleOutcome {
  target: string;
  read: number;
  bad: Array<{ id: string; problem: string; message: string }>;
  unencrypted: string[];
}

async function readBack(context: VerifyContext, copy: TargetCopy): Promise<SampleOutcome> {
  const blobs = copy.facts!.blobs.filter((b) => !copy.missing.includes(b.id));
  const rotation = context.options.rotation ?? hourRotation(context.now);
  const sample = rotatingSample(blobs, context.options.sample, rotation);
  const outcome: SampleOutcome = { target: copy.target.name, read: 0, bad: [], unencrypted: [] };
  await mapLimit(sample, Math.min(4, context.options.concurrency), async (blob) => {
    const check = await copy.target.repository.verifyBlob(blob, { deep: true });
    outcome.read++;
    if (!check.ok) {
      outcome.bad.push({ id: blob.id, problem: check.problem, message: check.message });
      // Marked so the next backup of the same content stores it again instead of reusing it;
      // a missing blob needs no mark, and a key problem is not damage.
      if (check.problem === "corrupt" || check.problem === "size") {
        await copy.target.repository.markDamaged(blob.id, check);
      }
      return;
    }
    if (context.config.requireEncryption) {
      const head = await new Response(
        await copy.target.target.load(blobKey(blob.id), { length: 64 }),
      ).arrayBuffer();
      if (!readBlobHeader(new Uint8Array(head)).keyId) outcome.unencrypted.push(blob.id);
    }
  });
  return outcome;
}

function short(id: string): string {
  return id.slice(0, 12);
}

function someIds(ids: string[]): string {
  return ids.slice(0, 3).map(short).join(", ") + (ids.length > 3 ? ", …" : "");
}

/** The integrity of the latest backup of one kind. */
export async function kindIntegrity(
  context: VerifyContext,
  kind: BackupKind,
): Promise<CheckResult> {
  const id = `integrity.${kind}`;
  const name = NAME[kind];
  const latest = await latestCopies(context, kind);
  const good = await latestGoodRun(context, kind);
  if (!latest.backupId) {
    const unreachable = latest.copies.filter((c) => c.state === "unreachable");
    if (unreachable.length) {
      return {
        id,
        name,
        status: "fail",
        summary: `No ${NOUN[kind]} could be checked: ${
          unreachable.map((c) => `target ${c.target.name} ${c.error}`).join("; ")
        }`,
        nextStep: "Check the targets' URLs, credentials and network access",
      };
    }
    return good
      ? {
        id,
        name,
        status: "fail",
        summary: `Run ${good.id} recorded a ${NOUN[kind]}, but no target holds any ${NOUN[kind]}`,
        nextStep:
          "Check that the targets are the ones the backups were written to, and that nothing deleted their manifests",
      }
      : { id, name, status: "ok", summary: `There is no ${NOUN[kind]} to check yet` };
  }
  const problems: string[] = [];
  if (good?.backupId && good.backupId > latest.backupId) {
    problems.push(
      `run ${good.id} recorded ${NOUN[kind]} ${good.backupId}, which no target holds`,
    );
  }
  const held = latest.copies.filter((c) => c.state !== "absent");
  for (const copy of held) {
    const where = `on target ${copy.target.name}`;
    if (copy.state === "unreachable") {
      problems.push(`${where} it could not be read (${copy.error})`);
    }
    if (copy.state === "invalid") problems.push(`${where} its manifest is invalid (${copy.error})`);
    if (copy.missing.length) {
      problems.push(
        `${where} ${copy.missing.length} of ${copy.facts!.blobs.length} parts are missing (${
          someIds(copy.missing)
        })`,
      );
    }
    if (copy.wrongSize.length) {
      problems.push(
        `${where} ${copy.wrongSize.length} parts have the wrong size (${someIds(copy.wrongSize)})`,
      );
    }
    if (copy.facts && context.config.requireEncryption && !copy.facts.encrypted) {
      problems.push(`${where} it is not encrypted, but the configuration requires encryption`);
    }
  }
  const readable = held.filter((c) =>
    c.facts && (c.state === "complete" || c.state === "incomplete")
  );
  const samples = await Promise.all(readable.map(async (copy) => {
    try {
      return await readBack(context, copy);
    } catch (error) {
      problems.push(
        `on target ${copy.target.name} parts could not be read (${describeError(error)})`,
      );
      return undefined;
    }
  }));
  let reread = 0;
  for (const sample of samples) {
    if (!sample) continue;
    reread += sample.read;
    for (const bad of sample.bad.slice(0, 3)) {
      problems.push(
        `on target ${sample.target} part ${short(bad.id)} is ${bad.problem}: ${bad.message}`,
      );
    }
    if (sample.bad.length > 3) {
      problems.push(`on target ${sample.target} ${sample.bad.length - 3} more parts are bad`);
    }
    if (sample.unencrypted.length) {
      problems.push(
        `on target ${sample.target} ${sample.unencrypted.length} sampled parts are not encrypted`,
      );
    }
  }
  const parts = held.find((c) => c.facts)?.facts?.blobs.length ?? 0;
  const details = {
    backupId: latest.backupId,
    parts,
    reread,
    copies: latest.copies.map((c) => ({
      target: c.target.name,
      state: c.state,
      missing: c.missing.length,
      wrongSize: c.wrongSize.length,
    })),
  };
  if (problems.length) {
    return {
      id,
      name,
      status: "fail",
      summary: `The latest ${NOUN[kind]} ${latest.backupId} is damaged: ${problems.join("; ")}`,
      nextStep: `Take a new ${
        NOUN[kind]
      } now so a sound one exists, keep the damaged one for investigation, and check the target's storage (a damaged part is shared by later backups that reference it)`,
      details,
    };
  }
  return {
    id,
    name,
    status: "ok",
    summary: `The latest ${NOUN[kind]} ${latest.backupId} validates on ${held.length} target${
      held.length === 1 ? "" : "s"
    }: ${parts} parts present with the right sizes, ${reread} read back and re-hashed${
      context.config.requireEncryption ? ", encrypted as required" : ""
    }`,
    details,
  };
}

/** Integrity of the latest database backup and Storage snapshot. */
export const integrityCheck: Check = {
  id: "integrity",
  run: (context) =>
    Promise.all([kindIntegrity(context, "database"), kindIntegrity(context, "storage")]),
};
