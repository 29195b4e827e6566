/**
 * How a URL says it goes through a transaction-mode pooler, what postgres.js is given for it,
 * how SAUVEGARDE_DB_POOLER marks the configured URLs, and the restore settings made local.
 */
import assert from "node:assert/strict";
import { loadConfig, markPooler } from "../../../shared/config/mod.ts";
import { localRestoreSettings } from "../../../shared/database/restore/sessions.ts";
import { RESTORE_SETTINGS } from "../../../shared/database/catalog/mod.ts";
import {
  clientOptions,
  throughTransactionPooler,
  withoutPoolerParameter,
} from "../../../shared/pg/pooler.ts";
import { sessionSettingsStatement } from "../../../shared/pg/session.ts";

Deno.test("Supabase's pooler port and an explicit pgbouncer parameter mean a transaction-mode pooler", () => {
  assert.equal(throughTransactionPooler("postgres://u:p@pooler.example:6543/postgres"), true);
  assert.equal(throughTransactionPooler("postgres://u:p@db.example:5432/postgres"), false);
  assert.equal(throughTransactionPooler("postgres://u:p@db.example/postgres"), false);
  assert.equal(throughTransactionPooler("postgres://u:p@db.example:7000/db?pgbouncer=true"), true);
  assert.equal(
    throughTransactionPooler("postgres://u:p@db.example:6543/db?pgbouncer=false"),
    false,
  );
  assert.throws(
    () => throughTransactionPooler("postgres://u:p@db.example/db?pgbouncer=yes"),
    /pgbouncer parameter must be true or false, not "yes"/,
  );
});

Deno.test("postgres.js gets the URL without the marker, and prepares nothing through a pooler", () => {
  const url = "postgres://u:p%40ss@db.example:7000/db?sslmode=require&pgbouncer=true";
  assert.equal(
    withoutPoolerParameter(url),
    "postgres://u:p%40ss@db.example:7000/db?sslmode=require",
  );
  assert.deepEqual(clientOptions(url), {
    url: "postgres://u:p%40ss@db.example:7000/db?sslmode=require",
    prepare: false,
  });
  const direct = "postgres://u:p@db.example:5432/db?sslmode=require";
  assert.deepEqual(clientOptions(direct), { url: direct, prepare: true });
});

Deno.test("SAUVEGARDE_DB_POOLER marks the configured URLs unless they say it themselves", () => {
  assert.equal(
    markPooler("postgres://u:p@db.example:5432/db", "transaction"),
    "postgres://u:p@db.example:5432/db?pgbouncer=true",
  );
  assert.equal(
    markPooler("postgres://u:p@pooler.example:6543/db", "session"),
    "postgres://u:p@pooler.example:6543/db?pgbouncer=false",
  );
  assert.equal(
    markPooler("postgres://u:p@db.example/db?pgbouncer=false", "transaction"),
    "postgres://u:p@db.example/db?pgbouncer=false",
  );
  assert.equal(
    markPooler("postgres://u:p@db.example/db", undefined),
    "postgres://u:p@db.example/db",
  );
  const config = loadConfig({
    SUPABASE_DB_URL: "postgres://u:p@db.example:5432/postgres",
    SAUVEGARDE_DB_POOLER: "transaction",
  });
  assert.equal(throughTransactionPooler(config.databaseUrl!), true);
  assert.throws(
    () => loadConfig({ SAUVEGARDE_DB_POOLER: "statement" }),
    /SAUVEGARDE_DB_POOLER/,
  );
});

Deno.test("the restore settings and the COPY settings are made local to the transaction", () => {
  const local = localRestoreSettings();
  assert.equal(local.split("\n").length, RESTORE_SETTINGS.split("\n").filter((l) => l).length);
  for (const line of local.split("\n")) {
    assert.match(line, /^(SET LOCAL \w+ = .+;|SELECT pg_catalog\.set_config\(.*, true\);)$/);
  }
  assert.throws(
    () => localRestoreSettings("SET statement_timeout = 0;\nRESET ALL;"),
    /cannot be made local: RESET ALL;/,
  );
  assert.doesNotMatch(sessionSettingsStatement({ local: true }), /false\)/);
  assert.doesNotMatch(sessionSettingsStatement({ local: false }), /true\)/);
});
