/**
 * Who is calling a function, and may they.
 *
 * Three kinds of caller: pg_cron (a shared secret in `x-sauvegarde-secret`, kept in Vault on
 * the database side), a server-side caller with a service key (`sb_secret_…` or the legacy
 * service-role JWT), and a dashboard user whose verified JWT carries
 * `app_metadata.backup_admin` (app_metadata, because users can edit their own user_metadata).
 *
 * @module
 */
import * as jose from "jose";
import { type Config, config } from "../config/mod.ts";
import { forbidden, unauthorized } from "./errors.ts";

/** A caller that passed {@link authorize}. */
export type Caller =
  | { kind: "cron"; subject: "pg_cron" }
  | { kind: "service"; subject: "service_role" }
  | { kind: "admin"; subject: string };

/** What the functions need to check callers. */
export interface AuthSettings {
  cronSecret?: string;
  serviceKeys: string[];
  /** JSON Web Key Set (as JSON text) for asymmetric project keys. */
  jwks?: string;
  /** Legacy HS256 JWT secret. */
  jwtSecret?: string;
  /**
   * The issuer of the project's user tokens, `${SUPABASE_URL}/auth/v1` as Supabase Auth writes
   * it; without it no user token is accepted (its issuer could not be checked).
   */
  issuer?: string;
}

/** The audience Supabase Auth gives a signed-in user's token. */
export const USER_AUDIENCE = "authenticated";

/** The issuer of a project's user tokens: Supabase Auth at `<project URL>/auth/v1`. */
export function authIssuer(supabaseUrl: string): string {
  return `${supabaseUrl.replace(/\/+$/, "")}/auth/v1`;
}

const encoder = new TextEncoder();

/**
 * Who may call, from the configuration alone, so callers are checked before anything else
 * (no database connection is opened for an unauthorised request).
 */
export function callerSettings(): AuthSettings {
  return authSettingsOf(config());
}

/** The part of a configuration that says who may call. */
export function authSettingsOf(
  { cronSecret, serviceKeys, jwks, jwtSecret, supabaseUrl }: Config,
): AuthSettings {
  return {
    cronSecret,
    serviceKeys,
    jwks,
    jwtSecret,
    issuer: supabaseUrl ? authIssuer(supabaseUrl) : undefined,
  };
}

/**
 * Checks that verified claims are a user token of this project: issued by its Auth
 * (`settings.issuer`) for the audience `authenticated`. A token signed with the project's key
 * but minted for something else (another issuer, another audience) is not a sign-in.
 *
 * @throws {HttpError} 401 saying which claim is wrong
 */
export function checkUserClaims(claims: jose.JWTPayload, settings: AuthSettings): void {
  if (!settings.issuer) {
    throw unauthorized(
      "User tokens cannot be accepted: SUPABASE_URL is not set, so their issuer cannot be checked",
    );
  }
  if (claims.iss !== settings.issuer) {
    throw unauthorized(
      `The token was not issued by this project's Auth: its issuer must be ${settings.issuer}`,
    );
  }
  const audiences = typeof claims.aud === "string" ? [claims.aud] : claims.aud ?? [];
  if (audiences.length === 0) {
    throw unauthorized(`The token has no audience: a user token's is "${USER_AUDIENCE}"`);
  }
  if (!audiences.includes(USER_AUDIENCE)) {
    throw unauthorized(`The token's audience is not "${USER_AUDIENCE}"`);
  }
}

/** Compares secrets in time independent of where they differ. */
export function secretsEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function bearer(request: Request): string | undefined {
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/** Verifies a JWT against the project's JWKS or legacy secret; returns its claims. */
export async function verifyJwt(
  token: string,
  settings: AuthSettings,
): Promise<jose.JWTPayload> {
  const header = (() => {
    try {
      return jose.decodeProtectedHeader(token);
    } catch {
      throw unauthorized("The Authorization header does not hold a valid token");
    }
  })();
  try {
    if (header.alg === "HS256") {
      if (!settings.jwtSecret) throw new Error("no HS256 secret configured");
      const { payload } = await jose.jwtVerify(token, encoder.encode(settings.jwtSecret));
      return payload;
    }
    if (!settings.jwks) throw new Error("no JWKS configured");
    const keys = jose.createLocalJWKSet(JSON.parse(settings.jwks));
    const { payload } = await jose.jwtVerify(token, keys);
    return payload;
  } catch (error) {
    if (error instanceof jose.errors.JWTExpired) throw unauthorized("The token has expired");
    throw unauthorized("The token could not be verified");
  }
}

/** True when verified claims mark a Sauvegarde admin. */
export function isBackupAdmin(claims: jose.JWTPayload): boolean {
  const appMetadata = claims.app_metadata as Record<string, unknown> | undefined;
  if (!appMetadata) return false;
  if (appMetadata.backup_admin === true) return true;
  const roles = appMetadata.roles;
  return Array.isArray(roles) && roles.includes("backup_admin");
}

/**
 * Identifies the caller and checks it is one of `allow`. Throws 401 when the caller is not
 * identified and 403 when identified but not allowed.
 */
export async function authorize(
  request: Request,
  settings: AuthSettings,
  allow: ReadonlyArray<Caller["kind"]>,
): Promise<Caller> {
  const secret = request.headers.get("x-sauvegarde-secret");
  if (secret !== null) {
    if (settings.cronSecret && secretsEqual(secret, settings.cronSecret)) {
      return permit({ kind: "cron", subject: "pg_cron" }, allow);
    }
    throw unauthorized("The x-sauvegarde-secret header is wrong");
  }
  const token = bearer(request) ?? request.headers.get("apikey") ?? undefined;
  if (!token) {
    throw unauthorized(
      "Missing credentials: send the cron secret in x-sauvegarde-secret or a Bearer token",
    );
  }
  if (settings.serviceKeys.some((key) => secretsEqual(token, key))) {
    return permit({ kind: "service", subject: "service_role" }, allow);
  }
  if (token.startsWith("sb_")) {
    throw unauthorized("The API key is not a secret key of this project");
  }
  const claims = await verifyJwt(token, settings);
  if (claims.role === "service_role") {
    return permit({ kind: "service", subject: "service_role" }, allow);
  }
  if (claims.role !== "authenticated" || typeof claims.sub !== "string") {
    throw forbidden("Sign in as a backup admin: this token is not a signed-in user's");
  }
  checkUserClaims(claims, settings);
  if (!isBackupAdmin(claims)) {
    throw forbidden("This user is not a backup admin (app_metadata.backup_admin is not set)");
  }
  return permit({ kind: "admin", subject: claims.sub }, allow);
}

function permit(caller: Caller, allow: ReadonlyArray<Caller["kind"]>): Caller {
  if (!allow.includes(caller.kind)) {
    throw forbidden(`This endpoint does not accept ${caller.kind} callers`);
  }
  return caller;
}
