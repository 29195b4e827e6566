import assert from "node:assert/strict";
import {
  CONFIG_TOML,
  readFunctionEntries,
  startFunctionsHost,
} from "../../../stack/functions_host.ts";
import { signHs256, TEST_JWT_SECRET, userToken } from "../../support/jwt.ts";

const auth = {
  serviceKeys: [],
  jwtSecret: TEST_JWT_SECRET,
  cronSecret: "cron-secret-for-tests-0001",
};

Deno.test("config.toml declares the four functions with entrypoints that exist", async () => {
  const entries = await readFunctionEntries();
  assert.deepEqual(entries.map((e) => e.name).sort(), [
    "notify",
    "storage-snapshot",
    "trigger-backup",
    "verify-backups",
  ]);
  for (const entry of entries) {
    await Deno.stat(entry.entrypoint);
    assert.equal(entry.verifyJwt, false, `${entry.name} is called by pg_cron and checks a secret`);
  }
});

Deno.test("an unknown path answers 404 JSON over real HTTP", async () => {
  const host = await startFunctionsHost({ auth });
  try {
    const response = await fetch(`${host.url}/functions/v1/no-such-function`);
    assert.equal(response.status, 404);
    assert.equal((await response.json()).error, "No such function");
  } finally {
    await host.stop();
  }
});

Deno.test("the gateway rejects requests without a valid JWT where verify_jwt is true", async () => {
  const dir = await Deno.makeTempDir();
  const toml = `[functions.notify]\nverify_jwt = true\nentrypoint = "${
    new URL("../functions/notify/index.ts", CONFIG_TOML).href
  }"\n`;
  await Deno.writeTextFile(`${dir}/config.toml`, toml);
  const host = await startFunctionsHost({
    auth,
    configUrl: new URL(`file://${dir}/config.toml`),
  });
  try {
    const none = await fetch(`${host.url}/functions/v1/notify`, { method: "POST" });
    assert.equal(none.status, 401);
    await none.body?.cancel();
    const forged = await signHs256({ role: "authenticated" }, {
      secret: "another-secret-entirely-xx",
    });
    const bad = await fetch(`${host.url}/functions/v1/notify`, {
      method: "POST",
      headers: { authorization: `Bearer ${forged}` },
    });
    assert.equal(bad.status, 401);
    await bad.body?.cancel();
    const good = await fetch(`${host.url}/functions/v1/notify`, {
      method: "POST",
      headers: { authorization: `Bearer ${await userToken()}` },
    });
    assert.notEqual(good.status, 401, "a valid JWT passes the gateway to the function");
    await good.body?.cancel();
  } finally {
    await host.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every declared function answers JSON over real HTTP, never a crash", async () => {
  const host = await startFunctionsHost({ auth });
  try {
    for (const entry of await readFunctionEntries()) {
      const response = await fetch(`${host.url}/functions/v1/${entry.name}`, {
        method: "POST",
        body: "{}",
        headers: { "content-type": "application/json" },
      });
      assert.match(response.headers.get("content-type") ?? "", /application\/json/);
      const body = await response.json();
      assert.equal(typeof body.error, "string", `${entry.name} explains itself`);
      assert.ok(
        response.status === 501 || (response.status >= 400 && response.status < 500),
        `${entry.name} answered ${response.status}`,
      );
    }
  } finally {
    await host.stop();
  }
});
