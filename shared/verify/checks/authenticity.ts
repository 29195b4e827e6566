/**
 * Authenticity of the latest backup of each kind: on every target that holds it, its manifest
 * was sealed with a configured key and bound to its name (`repository/authenticity.ts`). An
 * unauthenticated backup is one anyone who can write to the target could have written, so
 * scheduled restore tests refuse it and a restore needs an operator's explicit consent: a
 * verification that called it fine would promise a restore nobody can run unattended.
 *
 * @module
 */
import { latestCopies } from "../copies.ts";
import type { BackupKind, Check, CheckResult, VerifyContext } from "../types.ts";

const NOUN: Record<BackupKind, string> = {
  database: "database backup",
  storage: "Storage snapshot",
};
const NAME: Record<BackupKind, string> = {
  database: "Database backup authenticity",
  storage: "Storage snapshot authenticity",
};

/** The authenticity of the latest backup of one kind. */
export async function kindAuthenticity(
  context: VerifyContext,
  kind: BackupKind,
): Promise<CheckResult> {
  const id = `authenticity.${kind}`;
  const name = NAME[kind];
  const latest = await latestCopies(context, kind);
  const opened = latest.copies.filter((copy) => copy.facts);
  if (!latest.backupId || opened.length === 0) {
    // Nothing could be opened: integrity says why (absent, invalid or unreachable).
    return { id, name, status: "ok", summary: `There is no readable ${NOUN[kind]} to check` };
  }
  const details = {
    backupId: latest.backupId,
    copies: opened.map((copy) => ({
      target: copy.target.name,
      authenticated: copy.authenticated === true,
    })),
  };
  const unauthenticated = opened.filter((copy) => copy.authenticated !== true);
  if (unauthenticated.length) {
    const where = unauthenticated.map((copy) => copy.target.name).join(", ");
    return {
      id,
      name,
      status: "fail",
      summary:
        `The latest ${NOUN[kind]} ${latest.backupId} is not authenticated on target${
          unauthenticated.length === 1 ? "" : "s"
        } ${where}: its manifest is not sealed with a configured key, so anyone who can write ` +
        `there could have written it, and scheduled restore tests will not restore it`,
      nextStep: context.config.encryptionKeys
        ? `Take a new ${NOUN[kind]} now (it is sealed with the configured keys); until then a ` +
          "restore of this one needs --allow-unauthenticated"
        : "Set SAUVEGARDE_ENCRYPTION_KEYS (supabase secrets set) so backups are sealed, then take a new one",
      details,
    };
  }
  return {
    id,
    name,
    status: "ok",
    summary: `The latest ${
      NOUN[kind]
    } ${latest.backupId} is sealed with a configured key on ${opened.length} target${
      opened.length === 1 ? "" : "s"
    }`,
    details,
  };
}

/** Authenticity of the latest database backup and Storage snapshot. */
export const authenticityCheck: Check = {
  id: "authenticity",
  run: (context) =>
    Promise.all([kindAuthenticity(context, "database"), kindAuthenticity(context, "storage")]),
};
