/**
 * The dashboard in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * against the local stack (`stack/dashboard_stack.ts`, what `deno task dashboard` runs): the
 * page, its buttons followed to their end, and its states. Set SAUVEGARDE_SCREENSHOT=<file.png>
 * to save the page after the backups (the README's screenshot).
 */
import assert from "node:assert/strict";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type DashboardStack, startDashboardStack } from "../../../stack/dashboard_stack.ts";

const CHROMIUM = "/usr/bin/chromium";
const WAIT = { timeout: 90_000 };

/** A fresh profile per launch, with the flags a closed network needs. */
async function launch(
  locale: string,
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await Deno.makeTempDir({ prefix: "sauvegarde-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    locale,
    viewport: { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

async function open(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(url);
  await page.locator(".sv-dashboard").waitFor(WAIT);
  assert.deepEqual(problems, [], "the page runs without script errors");
  return page;
}

function state(page: Page, name: string) {
  return page.locator(`.sv-dashboard[data-state="${name}"]`).waitFor(WAIT);
}

async function confirmAction(page: Page, action: string, options: { double?: boolean } = {}) {
  await page.locator(`[data-action="${action}"]`).click();
  const confirm = page.locator(`[data-confirm="${action}"]`);
  await confirm.waitFor(WAIT);
  if (options.double) await confirm.dblclick();
  else await confirm.click();
}

/** The run id a notice names, once a notice of that tone appears. */
async function noticeRun(page: Page, tone: string, text: RegExp): Promise<string> {
  const notice = page.locator(`[data-notice="${tone}"]`).filter({ hasText: text }).last();
  await notice.waitFor(WAIT);
  const runId = await notice.getAttribute("data-run-id");
  assert.ok(runId, `the ${tone} notice names its run`);
  return runId;
}

async function rowSucceeds(page: Page, runId: string): Promise<void> {
  await page.locator(`tr[data-run-id="${runId}"][data-status="succeeded"]`).waitFor(WAIT);
}

async function runsSince(dashboard: DashboardStack, kind: string, since: Date) {
  return await dashboard.stack.app.sql`
    select id, status, trigger, requested_by from public.backup_runs
    where kind = ${kind} and created_at >= ${since} order by created_at`;
}

Deno.test({
  name: "the dashboard works in a real browser against the local stack",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dashboard = await startDashboardStack({
      shop: { products: 40, customers: 15, orders: 80 },
    });
    const browser = await launch("en-GB");
    try {
      const admin = await dashboard.serve();
      const page = await open(browser.context, admin.url);

      await t.step("the page loads signed in as the local backup admin", async () => {
        await state(page, "ready");
        assert.match(await page.locator("header").innerText(), /admin@sauvegarde\.local/);
        for (const card of ["database", "storage", "offsite", "restore_test"]) {
          assert.equal(await page.locator(`[data-card="${card}"]`).count(), 1, card);
        }
        await page.locator('[data-job="database-backup"]').waitFor(WAIT);
        assert.match(
          await page.locator('[data-job="database-backup"]').innerText(),
          /0 2 \* \* \*/,
        );
      });

      await t.step(
        "back up now creates one run that the table shows going to succeeded",
        async () => {
          const since = new Date();
          await confirmAction(page, "database");
          const runId = await noticeRun(page, "info", /Database backup started/);
          await rowSucceeds(page, runId);
          await page.locator('[data-notice="ok"]').filter({ hasText: "Database backup succeeded" })
            .waitFor(WAIT);
          const runs = await runsSince(dashboard, "database", since);
          assert.deepEqual(runs.map((r) => ({ ...r })), [{
            id: runId,
            status: "succeeded",
            trigger: "manual",
            requested_by: dashboard.admin.id,
          }]);
          assert.match(
            await page.locator('[data-card="database"]').innerText(),
            /within objective/,
          );
        },
      );

      await t.step(
        "a double click gets the 409 state, following the one run it started",
        async () => {
          const since = new Date();
          await confirmAction(page, "database", { double: true });
          const conflictRun = await noticeRun(page, "warn", /Already running: run/);
          const runs = await runsSince(dashboard, "database", since);
          assert.equal(runs.length, 1, "two presses started one run");
          assert.equal(conflictRun, runs[0].id, "the 409 state shows the live run");
          await rowSucceeds(page, conflictRun);
        },
      );

      await t.step(
        "test restore runs a restore test that goes to succeeded, with its RTO",
        async () => {
          const since = new Date();
          await confirmAction(page, "restore_test");
          const runId = await noticeRun(page, "info", /Restore test started/);
          await rowSucceeds(page, runId);
          const [run] = await runsSince(dashboard, "restore_test", since);
          assert.equal(run.status, "succeeded");
          await page.locator('[data-card="restore_test"] [data-rto]').filter({ hasText: /\d/ })
            .waitFor(WAIT);
        },
      );

      await t.step("a failed verification shows its alert with what to do", async () => {
        // No Storage snapshot has been made yet: Storage freshness fails.
        await confirmAction(page, "verify");
        await page.locator('[data-notice="fail"]').filter({ hasText: /Verification: .*fail/ })
          .waitFor(WAIT);
        const alert = page.locator('[data-alert="freshness.storage"]');
        await alert.waitFor(WAIT);
        const text = await alert.innerText();
        assert.match(text, /No Storage snapshot has ever succeeded/);
        assert.match(text, /What to do: Start a Storage snapshot now/);
        await page.locator('[data-check="freshness.storage"]').waitFor(WAIT);
      });

      await t.step("back up both starts a database backup and a Storage snapshot", async () => {
        const since = new Date();
        await confirmAction(page, "all");
        const storageRun = await noticeRun(page, "info", /Storage snapshot started/);
        const databaseRun = await noticeRun(page, "info", /Database backup started/);
        await rowSucceeds(page, storageRun);
        await rowSucceeds(page, databaseRun);
        assert.equal((await runsSince(dashboard, "storage", since)).length, 1);
        await page.locator('[data-card="storage"]').filter({ hasText: "within objective" })
          .waitFor(WAIT);
        const screenshot = Deno.env.get("SAUVEGARDE_SCREENSHOT");
        if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
      });

      await t.step("a user who is not a backup admin sees the 403 state", async () => {
        const user = dashboard.stack.auth.addUser({ email: "viewer@sauvegarde.local" });
        const server = await dashboard.serve({ session: await dashboard.stack.auth.session(user) });
        const other = await open(browser.context, server.url);
        await state(other, "forbidden");
        assert.match(
          await other.locator('[data-panel="forbidden"]').innerText(),
          /viewer@sauvegarde\.local is signed in but is not a backup admin/,
        );
        await other.close();
      });

      await t.step(
        "nobody signed in sees the sign-in state, and a sign-in there works",
        async () => {
          dashboard.stack.auth.addUser({
            email: "second-admin@sauvegarde.local",
            password: "a-local-password",
            admin: true,
          });
          const server = await dashboard.serve({ session: null });
          const other = await open(browser.context, server.url);
          await state(other, "signed_out");
          await other.getByLabel("Email").fill("second-admin@sauvegarde.local");
          await other.getByLabel("Password").fill("not-the-password");
          await other.getByRole("button", { name: "Sign in" }).click();
          await other.getByRole("alert").filter({ hasText: "Invalid login credentials" })
            .waitFor(WAIT);
          await other.getByLabel("Password").fill("a-local-password");
          await other.getByRole("button", { name: "Sign in" }).click();
          await state(other, "ready");
          assert.match(await other.locator("header").innerText(), /second-admin@sauvegarde\.local/);
          await other.close();
        },
      );

      await t.step("functions that cannot be reached show their state, then recover", async () => {
        await page.route("**/functions/v1/**", (route) => route.abort("connectionrefused"));
        await page.getByRole("button", { name: "Verify now" }).waitFor(WAIT);
        await state(page, "unreachable");
        assert.match(
          await page.locator('[data-panel="unreachable"]').innerText(),
          /The functions cannot be reached/,
        );
        await page.unroute("**/functions/v1/**");
        await page.getByRole("button", { name: "Retry now" }).click();
        await state(page, "ready");
      });

      await t.step("a browser set to French gets the page in French", async () => {
        const french = await launch("fr-FR");
        try {
          const other = await open(french.context, admin.url);
          await state(other, "ready");
          assert.equal(await other.locator("h1").innerText(), "Sauvegardes");
          await other.getByRole("button", { name: "Sauvegarder la base" }).waitFor(WAIT);
          assert.match(
            await other.locator('[data-card="database"]').innerText(),
            /Dernière réussie/,
          );
        } finally {
          await french.close();
        }
      });
    } finally {
      await browser.close();
      await dashboard.stop();
    }
  },
});
