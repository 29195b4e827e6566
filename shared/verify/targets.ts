/**
 * The configured targets as verification sees them: opened, each with a repository, the kind
 * of storage it is, and whether it counts as offsite.
 *
 * Offsite: the targets named in `SAUVEGARDE_OFFSITE_TARGETS` when it is set. Otherwise an S3
 * target is offsite when the first target (the primary) is a filesystem, or when its endpoint
 * or region differs from the primary's; a filesystem target is never assumed offsite (a
 * mounted remote disk must be named). Kind of storage ("medium"): `file`, or `s3@<endpoint
 * host>` (`s3@aws` without an endpoint), so two S3 providers count as two kinds.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { Keyring } from "../codec/encryption.ts";
import { Repository } from "../repository/mod.ts";
import { openTarget, parseTargetUrl, type TargetSpec } from "../targets/open_target.ts";
import type { VerifyTarget } from "./types.ts";

/** Where a target is, for the 3-2-1 rules. */
export interface TargetPlace {
  medium: string;
  /** Endpoint host and region, for comparing S3 targets. */
  site: string;
}

/** The medium and site of a parsed target URL. */
export function targetPlace(spec: TargetSpec, config: Pick<Config, "s3">): TargetPlace {
  if (spec.kind === "file") return { medium: "file", site: "local" };
  const endpoint = spec.endpoint ?? config.s3.endpoint;
  const host = endpoint ? new URL(endpoint).host : "aws";
  const region = spec.region ?? config.s3.region ?? "";
  return { medium: `s3@${host}`, site: `${host}/${region}` };
}

/** Whether each configured target counts as offsite, by name. */
export function offsiteTargets(
  config: Pick<Config, "targets" | "s3" | "offsiteTargets">,
): Record<string, boolean> {
  const names = Object.keys(config.targets);
  if (config.offsiteTargets) {
    return Object.fromEntries(names.map((name) => [name, config.offsiteTargets!.includes(name)]));
  }
  const places = names.map((name) => {
    try {
      return { spec: parseTargetUrl(config.targets[name]), ok: true } as const;
    } catch {
      return { ok: false } as const;
    }
  });
  const primary = places[0];
  return Object.fromEntries(names.map((name, i) => {
    const place = places[i];
    if (i === 0 || !place.ok || place.spec.kind !== "s3" || !primary.ok) return [name, false];
    if (primary.spec.kind === "file") return [name, true];
    return [name, targetPlace(place.spec, config).site !== targetPlace(primary.spec, config).site];
  }));
}

/** Opens every configured target for verification (close them with {@link closeTargets}). */
export async function openVerifyTargets(config: Config): Promise<VerifyTarget[]> {
  const keyring = config.encryptionKeys ? await Keyring.parse(config.encryptionKeys) : undefined;
  const offsite = offsiteTargets(config);
  return Object.entries(config.targets).map(([name, url]) => {
    const spec = parseTargetUrl(url);
    const target = openTarget(url, { s3: config.s3 });
    return {
      name,
      url,
      target,
      repository: new Repository(target, {
        keyring,
        acceptUnauthenticated: config.acceptUnauthenticated,
      }),
      medium: targetPlace(spec, config).medium,
      offsite: offsite[name] ?? false,
    };
  });
}

/** Releases the targets' connections. */
export async function closeTargets(targets: VerifyTarget[]): Promise<void> {
  await Promise.allSettled(targets.map((t) => t.target.close()));
}
