/**
 * Encryption keys for tests that run the engine as a project configured per the runbook would
 * (sealed, authenticated manifests: what unattended restores require).
 *
 * @module
 */
import { Keyring } from "../../shared/codec/encryption.ts";

/** A fresh `SAUVEGARDE_ENCRYPTION_KEYS` value for this test process. */
export const TEST_ENCRYPTION_KEYS: string = (await Keyring.generate("test")).text;

/** Environment that gives a local stack keys. */
export const KEYED_ENV: Record<string, string> = {
  SAUVEGARDE_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
};
