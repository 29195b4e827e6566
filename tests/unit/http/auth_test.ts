import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/mod.ts";
import {
  authIssuer,
  authorize,
  type AuthSettings,
  authSettingsOf,
  HttpError,
} from "../../../shared/http/mod.ts";
import {
  anonToken,
  es256Keys,
  signHs256,
  TEST_ISSUER,
  TEST_JWT_SECRET,
  userClaims,
  userToken,
} from "../../support/jwt.ts";

const settings: AuthSettings = {
  cronSecret: "cron-secret-for-tests-0001",
  serviceKeys: ["sb_secret_test_service_key"],
  jwtSecret: TEST_JWT_SECRET,
  issuer: TEST_ISSUER,
};

function request(headers: Record<string, string>): Request {
  return new Request("http://localhost/functions/v1/x", { method: "POST", headers });
}

async function status(headers: Record<string, string>, s = settings): Promise<number> {
  try {
    await authorize(request(headers), s, ["cron", "service", "admin"]);
    return 200;
  } catch (error) {
    assert.ok(error instanceof HttpError);
    return error.status;
  }
}

Deno.test("callers without valid credentials get 401", async () => {
  assert.equal(await status({}), 401);
  assert.equal(await status({ "x-sauvegarde-secret": "wrong" }), 401);
  assert.equal(await status({ authorization: "Bearer sb_secret_not_ours" }), 401);
  assert.equal(await status({ authorization: "Bearer not-a-jwt" }), 401);
  const expired = await userToken({ admin: true, expiresAt: Math.floor(Date.now() / 1000) - 60 });
  assert.equal(await status({ authorization: `Bearer ${expired}` }), 401);
  const forged = await signHs256(
    { role: "authenticated", sub: "x", app_metadata: { backup_admin: true } },
    { secret: "some-other-projects-secret-xxxxxxxx" },
  );
  assert.equal(await status({ authorization: `Bearer ${forged}` }), 401);
});

Deno.test("identified callers who are not admins get 403", async () => {
  assert.equal(await status({ authorization: `Bearer ${await anonToken()}` }), 403);
  assert.equal(await status({ authorization: `Bearer ${await userToken()}` }), 403);
  const selfPromoted = await userToken({ userMetadataAdmin: true });
  assert.equal(await status({ authorization: `Bearer ${selfPromoted}` }), 403);
});

Deno.test("the cron secret, a service key and an admin JWT are accepted", async () => {
  assert.equal(await status({ "x-sauvegarde-secret": settings.cronSecret! }), 200);
  assert.equal(await status({ authorization: "Bearer sb_secret_test_service_key" }), 200);
  assert.equal(await status({ apikey: "sb_secret_test_service_key" }), 200);
  assert.equal(await status({ authorization: `Bearer ${await userToken({ admin: true })}` }), 200);
  const caller = await authorize(
    request({ authorization: `Bearer ${await userToken({ admin: true })}` }),
    settings,
    ["admin"],
  );
  assert.equal(caller.kind, "admin");
});

Deno.test("admin JWTs signed with the project's asymmetric keys verify through the JWKS", async () => {
  const keys = await es256Keys();
  const token = await keys.sign({
    ...userClaims(),
    app_metadata: { roles: ["backup_admin"] },
  });
  assert.equal(
    await status({ authorization: `Bearer ${token}` }, { ...settings, jwks: keys.jwks }),
    200,
  );
  assert.equal(await status({ authorization: `Bearer ${token}` }, settings), 401);
});

Deno.test("a caller kind the endpoint does not accept gets 403", async () => {
  await assert.rejects(
    authorize(request({ "x-sauvegarde-secret": settings.cronSecret! }), settings, ["service"]),
    (error) => error instanceof HttpError && error.status === 403,
  );
});

/** The 401 message a token gets, or its status when it is not refused with 401. */
async function refusal(token: string, s = settings): Promise<string> {
  try {
    await authorize(request({ authorization: `Bearer ${token}` }), s, ["admin"]);
    return "accepted";
  } catch (error) {
    assert.ok(error instanceof HttpError);
    return error.status === 401 ? error.message : `status ${error.status}`;
  }
}

Deno.test("a user token must come from this project's Auth, for the audience authenticated", async () => {
  const admin = { ...userClaims({ admin: true }) };
  assert.equal(await refusal(await signHs256(admin)), "accepted");
  assert.equal(
    await refusal(await signHs256({ ...admin, iss: "https://other-project.supabase.co/auth/v1" })),
    `The token was not issued by this project's Auth: its issuer must be ${TEST_ISSUER}`,
  );
  assert.equal(
    await refusal(await signHs256({ ...admin, iss: undefined })),
    `The token was not issued by this project's Auth: its issuer must be ${TEST_ISSUER}`,
  );
  assert.equal(
    await refusal(await signHs256({ ...admin, aud: "storage" })),
    'The token\'s audience is not "authenticated"',
  );
  assert.equal(
    await refusal(await signHs256({ ...admin, aud: undefined })),
    'The token has no audience: a user token\'s is "authenticated"',
  );
  assert.equal(
    await refusal(await signHs256({ ...admin, aud: ["other", "authenticated"] })),
    "accepted",
    "an audience list that holds authenticated is accepted",
  );
  assert.equal(
    await refusal(await userToken({ admin: true }), { ...settings, issuer: undefined }),
    "User tokens cannot be accepted: SUPABASE_URL is not set, so their issuer cannot be checked",
  );
});

Deno.test("the project issuer is SUPABASE_URL's Auth, a trailing slash or not", () => {
  assert.equal(authIssuer("https://abc.supabase.co/"), "https://abc.supabase.co/auth/v1");
  const fromConfig = authSettingsOf(loadConfig({ SUPABASE_URL: "https://abc.supabase.co" }));
  assert.equal(fromConfig.issuer, "https://abc.supabase.co/auth/v1");
});
