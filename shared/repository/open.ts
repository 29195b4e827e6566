/**
 * Opens a repository on a target URL with the configured compression and encryption keys:
 * the one way every engine (database, Storage, verification, retention) gets a repository.
 *
 * @module
 */
import { Keyring } from "../codec/encryption.ts";
import type { Config } from "../config/mod.ts";
import { openTarget } from "../targets/open_target.ts";
import type { StorageTarget } from "../targets/target.ts";
import { Repository } from "./repository.ts";

/** A repository opened on a named target, with the target to close. */
export interface OpenedRepository {
  name: string;
  repository: Repository;
  target: StorageTarget;
  /** The keys blobs are sealed with (the first) and opened with (any); none when unencrypted. */
  keyring?: Keyring;
}

/** Opens a repository on `url` with the configured codecs and keys. */
export async function openRepository(
  name: string,
  url: string,
  config: Pick<Config, "s3" | "compression" | "encryptionKeys"> & {
    acceptUnauthenticated?: boolean;
  },
): Promise<OpenedRepository> {
  const target = openTarget(url, { s3: config.s3 });
  const keyring = config.encryptionKeys ? await Keyring.parse(config.encryptionKeys) : undefined;
  return {
    name,
    target,
    keyring,
    repository: new Repository(target, {
      compression: config.compression,
      keyring,
      acceptUnauthenticated: config.acceptUnauthenticated,
    }),
  };
}
