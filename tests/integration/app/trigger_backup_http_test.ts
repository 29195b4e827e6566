import assert from "node:assert/strict";
import { LOCAL_JWT_SECRET, startLocalStack } from "../../../stack/local_stack.ts";
import { signHs256, stackUserToken, userClaims, userToken } from "../../support/jwt.ts";

const opts = { secret: LOCAL_JWT_SECRET };

Deno.test("trigger-backup answers the auth matrix and bad bodies with clear JSON errors", async (t) => {
  const stack = await startLocalStack();
  const url = stack.functionUrl("trigger-backup");
  const post = async (headers: Record<string, string>, body: string, method = "POST") => {
    const response = await fetch(url, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: method === "GET" ? undefined : body,
    });
    const json = await response.json();
    return { status: response.status, json };
  };
  const schemaOnly = JSON.stringify({ kind: "database", scope: { schemaOnly: true } });
  try {
    await t.step("who may call", async () => {
      const cases: Array<[string, Record<string, string>, number]> = [
        ["no token", {}, 401],
        ["anon JWT", { authorization: `Bearer ${await signHs256({ role: "anon" }, opts)}` }, 403],
        ["non-admin JWT", {
          authorization: `Bearer ${await stackUserToken(stack, { userMetadataAdmin: true })}`,
        }, 403],
        ["expired admin JWT", {
          authorization: `Bearer ${await signHs256({
            role: "authenticated",
            sub: crypto.randomUUID(),
            app_metadata: { backup_admin: true },
          }, { ...opts, expiresAt: Math.floor(Date.now() / 1000) - 10 })}`,
        }, 401],
        ["JWT signed by another project", {
          authorization: `Bearer ${await userToken({ admin: true })}`,
        }, 401],
        ["wrong cron secret", { "x-sauvegarde-secret": "not-the-secret" }, 401],
      ];
      for (const [name, headers, expected] of cases) {
        const { status, json } = await post(headers, schemaOnly);
        assert.equal(status, expected, `${name}: ${JSON.stringify(json)}`);
        assert.equal(typeof json.error, "string", `${name} explains itself`);
        const text = JSON.stringify(json);
        for (const secret of [stack.env.SAUVEGARDE_CRON_SECRET, LOCAL_JWT_SECRET, stack.db.url]) {
          assert.ok(!text.includes(secret), `${name} leaks nothing`);
        }
      }
    });

    await t.step(
      "an admin token needs this project's issuer and the audience authenticated",
      async () => {
        const issuer = `${stack.env.SUPABASE_URL}/auth/v1`;
        const admin = userClaims({ admin: true, issuer });
        const read = (token: string) =>
          fetch(`${url}?runId=${crypto.randomUUID()}`, {
            headers: { authorization: `Bearer ${token}` },
          }).then(async (response) => ({ status: response.status, json: await response.json() }));
        const cases: Array<[string, Record<string, unknown>, RegExp]> = [
          ["another issuer", { iss: "https://elsewhere.supabase.co/auth/v1" }, /issuer must be/],
          ["another audience", { aud: "storage" }, /audience is not "authenticated"/],
          ["no audience", { aud: undefined }, /has no audience/],
        ];
        for (const [name, change, message] of cases) {
          const { status, json } = await read(await signHs256({ ...admin, ...change }, opts));
          assert.equal(status, 401, `${name}: ${JSON.stringify(json)}`);
          assert.match(json.error, message, name);
        }
        // The right claims get through: the run is looked up (and is not there).
        const good = await read(await signHs256(admin, opts));
        assert.equal(good.status, 404, JSON.stringify(good.json));
      },
    );

    await t.step("bad bodies and methods", async () => {
      const cron = { "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET };
      const notJson = await post(cron, "{kind: database");
      assert.equal(notJson.status, 400);
      assert.match(notJson.json.error, /not valid JSON/);
      const unknownKind = await post(cron, JSON.stringify({ kind: "everything" }));
      assert.equal(unknownKind.status, 400);
      assert.match(unknownKind.json.error, /kind/);
      const unknownField = await post(cron, JSON.stringify({ kind: "database", force: true }));
      assert.equal(unknownField.status, 400);
      assert.match(unknownField.json.error, /force/);
      const unknownTarget = await post(
        cron,
        JSON.stringify({ kind: "database", targets: ["mars"] }),
      );
      assert.equal(unknownTarget.status, 400);
      assert.match(unknownTarget.json.error, /Unknown target "mars"/);
      const put = await fetch(url, { method: "PUT", headers: cron });
      assert.equal(put.status, 405);
      assert.match((await put.json()).error, /PUT is not allowed/);
      // Without ?runId a GET is the status API (tests/status_http_test.ts); an empty one is wrong.
      const status = await post(cron, "", "GET");
      assert.equal(status.status, 200);
      assert.ok(Array.isArray(status.json.kinds));
      const noRun = await fetch(`${url}?runId=`, { headers: cron });
      assert.equal(noRun.status, 400);
      assert.match((await noRun.json()).error, /Add \?runId=<id>/);
      const missing = await fetch(`${url}?runId=${crypto.randomUUID()}`, { headers: cron });
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const preflight = await fetch(url, { method: "OPTIONS" });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
      await preflight.body?.cancel();
    });

    await t.step("an admin may not drive the scheduler's continue calls", async () => {
      const admin = await stackUserToken(stack, { admin: true });
      const { status } = await post({ authorization: `Bearer ${admin}` }, '{"continue":true}');
      assert.equal(status, 403);
    });
  } finally {
    await stack.stop();
  }
});
