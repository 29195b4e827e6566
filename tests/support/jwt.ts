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

/** A user's JWT; `admin` sets app_metadata.backup_admin. */
export function userToken(
  options: { admin?: boolean; expiresAt?: number; userMetadataAdmin?: boolean } = {},
): Promise<string> {
  return signHs256({
    sub: crypto.randomUUID(),
    role: "authenticated",
    app_metadata: options.admin ? { provider: "email", backup_admin: true } : { provider: "email" },
    user_metadata: options.userMetadataAdmin ? { backup_admin: true } : {},
  }, { expiresAt: options.expiresAt });
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
