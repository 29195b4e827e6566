/** Signs test JWTs the way Supabase Auth does (HS256 legacy secret, or an ES256 JWKS key). */
import * as jose from "jose";

export const TEST_JWT_SECRET = "test-jwt-secret-with-at-least-32-characters!!";

/** Signs claims with the legacy HS256 secret; `expiresIn` like "1h" or a past epoch. */
export function signHs256(
  claims: jose.JWTPayload,
  options: { expiresAt?: number | string; secret?: string } = {},
): Promise<string> {
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? "1h")
    .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

/** The project URL the unit tests' settings name (the local stack has its own). */
export const TEST_SUPABASE_URL = "https://test-project.supabase.co";

/** The issuer Supabase Auth writes in the test project's user tokens. */
export const TEST_ISSUER = `${TEST_SUPABASE_URL}/auth/v1`;

/**
 * The claims Supabase Auth puts in a signed-in user's token: `iss` the project's Auth, `aud`
 * `authenticated`, `role` `authenticated`, a `sub`, and `app_metadata` (`admin` sets
 * `backup_admin`, as an operator would; only users themselves write `user_metadata`).
 */
export function userClaims(
  options: { admin?: boolean; userMetadataAdmin?: boolean; issuer?: string } = {},
): jose.JWTPayload {
  return {
    iss: options.issuer ?? TEST_ISSUER,
    aud: "authenticated",
    sub: crypto.randomUUID(),
    role: "authenticated",
    app_metadata: options.admin ? { provider: "email", backup_admin: true } : { provider: "email" },
    user_metadata: options.userMetadataAdmin ? { backup_admin: true } : {},
  };
}

/**
 * A user's JWT as Supabase Auth issues it ({@link userClaims}), signed with the HS256 `secret`
 * (default {@link TEST_JWT_SECRET}); for the local stack pass its issuer and secret, or use
 * {@link stackUserToken}.
 */
export function userToken(
  options: {
    admin?: boolean;
    expiresAt?: number;
    userMetadataAdmin?: boolean;
    issuer?: string;
    secret?: string;
  } = {},
): Promise<string> {
  return signHs256(userClaims(options), { expiresAt: options.expiresAt, secret: options.secret });
}

/** A user's JWT for a local stack: its Auth's issuer, signed with its JWT secret. */
export function stackUserToken(
  stack: { env: Record<string, string> },
  options: { admin?: boolean; userMetadataAdmin?: boolean; expiresAt?: number } = {},
): Promise<string> {
  return userToken({
    ...options,
    issuer: `${stack.env.SUPABASE_URL.replace(/\/+$/, "")}/auth/v1`,
    secret: stack.env.SUPABASE_JWT_SECRET,
  });
}

/** The project's anon key as a JWT. */
export function anonToken(): Promise<string> {
  return signHs256({ role: "anon", iss: "supabase" });
}

/** An ES256 key pair and its public JWKS text, for asymmetric project keys. */
export async function es256Keys(): Promise<
  { jwks: string; sign(c: jose.JWTPayload): Promise<string> }
> {
  const { publicKey, privateKey } = await jose.generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: "test-key", alg: "ES256", use: "sig" };
  return {
    jwks: JSON.stringify({ keys: [jwk] }),
    sign: (claims) =>
      new jose.SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "test-key" })
        .setIssuedAt().setExpirationTime("1h").sign(privateKey),
  };
}
