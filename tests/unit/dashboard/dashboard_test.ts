import assert from "node:assert/strict";
import { pickLocale, translator } from "../../../dashboard/i18n.ts";
import type * as Dashboard from "../../../dashboard/types.ts";
import type { BackupStatus, RunsPage } from "../../../shared/status/mod.ts";

/** What JSON makes of a value: dates become strings. */
type Jsonified<T> = T extends Date ? string
  : T extends Array<infer U> ? Jsonified<U>[]
  : T extends object ? { [K in keyof T]: Jsonified<T[K]> }
  : T;

// The dashboard's types are what the status API sends (checked by `deno check`).
const _status = (s: Jsonified<BackupStatus>): Dashboard.BackupStatus => s;
const _page = (p: Jsonified<RunsPage>): Dashboard.RunsPage => p;

Deno.test("the dashboard speaks French to a French browser and English otherwise", () => {
  assert.equal(pickLocale(["fr-FR", "en-US"]), "fr");
  assert.equal(pickLocale(["fr-CA"]), "fr");
  assert.equal(pickLocale(["de-DE", "fr"]), "fr");
  assert.equal(pickLocale(["en-GB", "fr"]), "en");
  assert.equal(pickLocale(["de-DE"]), "en");
  assert.equal(pickLocale([]), "en");
  assert.equal(translator("fr").m.title, "Sauvegardes");
  assert.equal(translator("en").m.title, "Backups");
});

Deno.test("sizes and durations read naturally in each language", () => {
  const en = translator("en");
  const fr = translator("fr");
  assert.equal(en.bytes(1_234_567), "1.2 MB");
  assert.equal(fr.bytes(1_234_567), "1,2 Mo");
  assert.equal(en.duration(12.5), "12.5 s");
  assert.equal(en.duration(15 * 60), "15 min");
  assert.equal(en.duration(24 * 3600), "24 h");
  assert.equal(fr.duration(31 * 86400), "31 jours");
  assert.equal(en.ago(null), "never");
  assert.equal(fr.ago(null), "jamais");
  const now = Date.parse("2026-12-07T10:00:00Z");
  assert.equal(en.ago("2026-12-07T09:50:00Z", now), "10 minutes ago");
  assert.equal(fr.ago("2026-12-07T09:50:00Z", now), "il y a 10 minutes");
});
