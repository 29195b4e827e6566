import assert from "node:assert/strict";
import {
  ConfigError,
  DEFAULT_LOCAL_TARGET,
  loadConfig,
  redactConfig,
} from "../../../shared/config/mod.ts";

Deno.test("an invalid environment names every bad variable and its expected shape", () => {
  try {
    loadConfig({
      SUPABASE_DB_URL: "mysql://nope",
      SAUVEGARDE_ENCRYPTION_KEYS: "k1:tooshort",
      SAUVEGARDE_TARGETS: "primary",
      SAUVEGARDE_COMPRESSION: "brotli",
    });
    assert.fail("expected a ConfigError");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const text = e.message;
    for (
      const name of [
        "SUPABASE_DB_URL",
        "SAUVEGARDE_ENCRYPTION_KEYS",
        "SAUVEGARDE_TARGETS",
        "SAUVEGARDE_COMPRESSION",
      ]
    ) {
      assert.match(text, new RegExp(name));
    }
    assert.equal(e.problems.length, 4);
    assert.match(text, /postgres:\/\//);
    assert.doesNotMatch(text, /tooshort/);
  }
});

Deno.test("requiring encryption without keys is reported", () => {
  assert.throws(
    () => loadConfig({ SAUVEGARDE_REQUIRE_ENCRYPTION: "true" }),
    /SAUVEGARDE_ENCRYPTION_KEYS is required/,
  );
});

Deno.test("an empty environment falls back to the local stack defaults", () => {
  const config = loadConfig({});
  assert.deepEqual(config.targets, { local: DEFAULT_LOCAL_TARGET });
  assert.equal(config.compression, "zstd");
  assert.equal(config.requireEncryption, false);
  assert.deepEqual(config.serviceKeys, []);
});

Deno.test("named targets and secret keys are parsed", () => {
  const config = loadConfig({
    SAUVEGARDE_TARGETS: "primary=s3://backups/prod?region=eu-west-1, local=file:///var/backups",
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_abc" }),
    SUPABASE_SERVICE_ROLE_KEY: "legacy-service-role-jwt",
  });
  assert.deepEqual(config.targets, {
    primary: "s3://backups/prod?region=eu-west-1",
    local: "file:///var/backups",
  });
  assert.deepEqual(config.serviceKeys, ["sb_secret_abc", "legacy-service-role-jwt"]);
});

Deno.test("printed configuration never contains a secret", () => {
  const secrets = {
    SUPABASE_DB_URL: "postgres://postgres:hunter2-db-password@db.example.com:5432/postgres",
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_verysecret" }),
    SAUVEGARDE_CRON_SECRET: "cron-secret-0123456789",
    SAUVEGARDE_ENCRYPTION_KEYS: `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(7)))}`,
    S3_ACCESS_KEY_ID: "AKIAEXAMPLEKEYID",
    S3_SECRET_ACCESS_KEY: "s3-secret-access-key",
    SLACK_WEBHOOK_URL: "https://hooks.example.com/services/T/B/slacksecret",
    SUPABASE_JWT_SECRET: "jwt-secret-0123456789abcdef",
  };
  const printed = JSON.stringify(redactConfig(loadConfig(secrets)));
  for (
    const value of [
      "hunter2-db-password",
      "sb_secret_verysecret",
      "cron-secret-0123456789",
      "AKIAEXAMPLEKEYID",
      "s3-secret-access-key",
      "slacksecret",
      "jwt-secret-0123456789abcdef",
    ]
  ) {
    assert.ok(!printed.includes(value), `${value} leaked`);
  }
  assert.match(printed, /db\.example\.com/);
});
