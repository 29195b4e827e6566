/**
 * Named targets from the configuration (`SAUVEGARDE_TARGETS`), or target URLs given directly
 * (the CLI's `--from` / `--to`): both resolve to a name and a URL.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { parseTargetUrl } from "./open_target.ts";

/** A target to act on. */
export interface NamedTarget {
  /** The configured name, or the URL itself when it was given directly. */
  name: string;
  url: string;
}

/**
 * Resolves a configured target name or a target URL.
 *
 * @throws {RangeError} when it is neither a configured name nor a valid target URL
 */
export function resolveTarget(config: Pick<Config, "targets">, nameOrUrl: string): NamedTarget {
  const configured = config.targets[nameOrUrl];
  if (configured) return { name: nameOrUrl, url: configured };
  if (/^[a-z][a-z0-9_-]*$/.test(nameOrUrl)) {
    throw new RangeError(
      `Target "${nameOrUrl}" is not configured (known: ${
        Object.keys(config.targets).join(", ") || "none"
      })`,
    );
  }
  try {
    parseTargetUrl(nameOrUrl);
  } catch (error) {
    throw new RangeError(
      `Target "${nameOrUrl}" is neither a configured name nor a valid target URL: ${
        (error as Error).message
      }`,
    );
  }
  return { name: nameOrUrl, url: nameOrUrl };
}

/** The given names or URLs resolved, or every configured target when none is given. */
export function resolveTargets(
  config: Pick<Config, "targets">,
  namesOrUrls: readonly string[] = [],
): NamedTarget[] {
  if (namesOrUrls.length === 0) {
    return Object.entries(config.targets).map(([name, url]) => ({ name, url }));
  }
  return namesOrUrls.map((entry) => resolveTarget(config, entry));
}
