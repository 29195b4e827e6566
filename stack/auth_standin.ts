/**
 * A stand-in for Supabase Auth (GoTrue) on the local stack, just enough for supabase-js in a
 * browser: `GET /auth/v1/user` (what `auth.setSession` checks a session with),
 * `POST /auth/v1/token?grant_type=password|refresh_token` (sign-in and the automatic refresh),
 * and `POST /auth/v1/logout`. Users live in memory; access tokens are HS256 JWTs signed with the
 * stack's legacy JWT secret, with the claims Supabase Auth puts in them (`iss` =
 * `<SUPABASE_URL>/auth/v1`, `aud` = `authenticated`, `role`, `app_metadata`, …), so the
 * functions verify them exactly as they verify a hosted project's. Loaded only by the local
 * stack (tests, the demo, `deno task dashboard`), never by the functions.
 *
 * @module
 */
import * as jose from "jose";

/** A user of the stand-in. */
export interface LocalUser {
  id: string;
  email: string;
  password?: string;
  appMetadata: Record<string, unknown>;
  userMetadata: Record<string, unknown>;
  createdAt: string;
}

/** A session as Supabase Auth answers it (the shape supabase-js stores). */
export interface LocalSession {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  expires_at: number;
  refresh_token: string;
  user: Record<string, unknown>;
}

/** The running stand-in. */
export interface AuthStandIn {
  /** Adds a user; `admin` sets `app_metadata.backup_admin` as an operator would. */
  addUser(input: { email: string; password?: string; admin?: boolean }): LocalUser;
  /** Signs a user in without a password (a pre-minted session, as after a sign-in). */
  session(user: LocalUser): Promise<LocalSession>;
  /** Answers a request under `/auth/v1/`. */
  handle(request: Request): Promise<Response>;
}

const CORS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers":
    "authorization, x-client-info, apikey, content-type, x-supabase-api-version",
  "access-control-allow-methods": "GET, POST, PUT, OPTIONS",
};

function answer(body: unknown, status = 200): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { ...CORS, ...(body === null ? {} : { "content-type": "application/json" }) },
  });
}

/** An error in Supabase Auth's shape (`code`, `error_code`, `msg`). */
function authError(status: number, code: string, msg: string): Response {
  return answer({ code: status, error_code: code, msg }, status);
}

function userJson(user: LocalUser): Record<string, unknown> {
  return {
    id: user.id,
    aud: "authenticated",
    role: "authenticated",
    email: user.email,
    email_confirmed_at: user.createdAt,
    phone: "",
    confirmed_at: user.createdAt,
    last_sign_in_at: new Date().toISOString(),
    app_metadata: user.appMetadata,
    user_metadata: user.userMetadata,
    identities: [],
    created_at: user.createdAt,
    updated_at: user.createdAt,
    is_anonymous: false,
  };
}

/** Creates the stand-in for a project at `supabaseUrl` whose legacy JWT secret is `jwtSecret`. */
export function createAuthStandIn(
  options: { supabaseUrl: string; jwtSecret: string; expiresInS?: number },
): AuthStandIn {
  const issuer = `${options.supabaseUrl.replace(/\/$/, "")}/auth/v1`;
  const key = new TextEncoder().encode(options.jwtSecret);
  const lifetime = options.expiresInS ?? 3600;
  const users = new Map<string, LocalUser>();
  const refreshTokens = new Map<string, string>();

  async function session(user: LocalUser): Promise<LocalSession> {
    const now = Math.floor(Date.now() / 1000);
    const access = await new jose.SignJWT({
      email: user.email,
      phone: "",
      app_metadata: user.appMetadata,
      user_metadata: user.userMetadata,
      role: "authenticated",
      aal: "aal1",
      amr: [{ method: "password", timestamp: now }],
      session_id: crypto.randomUUID(),
      is_anonymous: false,
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(issuer)
      .setSubject(user.id)
      .setAudience("authenticated")
      .setIssuedAt(now)
      .setExpirationTime(now + lifetime)
      .sign(key);
    const refresh = crypto.randomUUID().replaceAll("-", "");
    refreshTokens.set(refresh, user.id);
    return {
      access_token: access,
      token_type: "bearer",
      expires_in: lifetime,
      expires_at: now + lifetime,
      refresh_token: refresh,
      user: userJson(user),
    };
  }

  async function currentUser(request: Request): Promise<LocalUser | undefined> {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
    if (!token) return undefined;
    try {
      const { payload } = await jose.jwtVerify(token, key, { issuer, audience: "authenticated" });
      return typeof payload.sub === "string" ? users.get(payload.sub) : undefined;
    } catch {
      return undefined;
    }
  }

  async function token(request: Request, grant: string | null): Promise<Response> {
    const body = await request.json().catch(() => ({})) as Record<string, unknown>;
    if (grant === "password") {
      const user = [...users.values()].find((u) => u.email === body.email);
      if (!user?.password || user.password !== body.password) {
        return authError(400, "invalid_credentials", "Invalid login credentials");
      }
      return answer(await session(user));
    }
    if (grant === "refresh_token") {
      const userId = refreshTokens.get(String(body.refresh_token));
      const user = userId ? users.get(userId) : undefined;
      if (!user) {
        return authError(
          400,
          "refresh_token_not_found",
          "Invalid Refresh Token: Refresh Token Not Found",
        );
      }
      refreshTokens.delete(String(body.refresh_token));
      return answer(await session(user));
    }
    return authError(400, "validation_failed", "Unsupported grant type");
  }

  return {
    addUser(input) {
      const user: LocalUser = {
        id: crypto.randomUUID(),
        email: input.email,
        password: input.password,
        appMetadata: {
          provider: "email",
          providers: ["email"],
          ...(input.admin ? { backup_admin: true } : {}),
        },
        userMetadata: {},
        createdAt: new Date().toISOString(),
      };
      users.set(user.id, user);
      return user;
    },
    session,
    async handle(request) {
      if (request.method === "OPTIONS") return answer(null, 204);
      const url = new URL(request.url);
      const path = url.pathname.replace(/^\/auth\/v1/, "");
      if (path === "/user" && request.method === "GET") {
        const user = await currentUser(request);
        return user
          ? answer(userJson(user))
          : authError(403, "bad_jwt", "invalid JWT: unable to parse or verify signature");
      }
      if (path === "/token" && request.method === "POST") {
        return await token(request, url.searchParams.get("grant_type"));
      }
      if (path === "/logout" && request.method === "POST") return answer(null, 204);
      return authError(404, "not_found", "This local Auth stand-in does not serve that path");
    },
  };
}
