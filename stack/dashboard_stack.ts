/**
 * The local stack with the dashboard in front of it, for `deno task dashboard` and the browser
 * tests: the demo's stack (PostgreSQL with pg_cron, the S3 server, a Storage stand-in, Slack,
 * the functions and the Auth stand-in on one origin), a seeded shop to back up, the template a
 * restore test copies, a signed-in local backup admin, and the page built and served.
 *
 * @module
 */
import { Keyring } from "../shared/codec/mod.ts";
import { settleBackground } from "../shared/jobs/background.ts";
import { buildDashboard } from "../dashboard/build.ts";
import {
  type DashboardPageConfig,
  type DashboardServer,
  serveDashboard,
} from "../dashboard/server.ts";
import type { LocalSession, LocalUser } from "./auth_standin.ts";
import { type LocalStack, startLocalStack } from "./local_stack.ts";
import { applySqlFile } from "./postgres.ts";
import { seedShop } from "./shop_seed.ts";

/** A running dashboard stack. */
export interface DashboardStack {
  readonly stack: LocalStack;
  /** The local backup admin, signed in. */
  readonly admin: LocalUser;
  readonly adminSession: LocalSession;
  /** Where the built page is. */
  readonly pageDir: string;
  /** Serves the page for a session (default: the admin's; null: nobody signed in). */
  serve(
    options?: { session?: LocalSession | null; port?: number; supabaseUrl?: string },
  ): Promise<DashboardServer>;
  stop(): Promise<void>;
}

/** Options of {@link startDashboardStack}. */
export interface DashboardStackOptions {
  /** Shop size (default: the demo's). */
  shop?: { products?: number; customers?: number; orders?: number };
}

/** Starts the stack, seeds it, builds the page; `stop()` removes everything. */
export async function startDashboardStack(
  options: DashboardStackOptions = {},
): Promise<DashboardStack> {
  const { text: keys } = await Keyring.generate("dashboard-key");
  const stack = await startLocalStack({
    s3: true,
    storage: true,
    slack: true,
    env: { SAUVEGARDE_ENCRYPTION_KEYS: keys, SAUVEGARDE_REQUIRE_ENCRYPTION: "true" },
  });
  const servers: DashboardServer[] = [];
  let pageDir: string | undefined;
  const stop = async () => {
    for (const server of servers) await server.stop().catch(() => {});
    await settleBackground();
    await stack.stop();
    if (pageDir) await Deno.remove(pageDir, { recursive: true }).catch(() => {});
  };
  try {
    await seedShop(stack.db.url, { ...options.shop, storage: stack.storage });
    // What an operator sets up once so restore tests can restore a Supabase project's backup.
    const template = await stack.db.createDatabase("sauvegarde_restore_template");
    await applySqlFile(template, "supabase_baseline.sql");
    pageDir = await Deno.makeTempDir({ prefix: "sauvegarde-dashboard-" });
    await buildDashboard(pageDir);
    const admin = stack.auth.addUser({ email: "admin@sauvegarde.local", admin: true });
    const adminSession = await stack.auth.session(admin);
    const dir = pageDir;
    return {
      stack,
      admin,
      adminSession,
      pageDir: dir,
      async serve(serveOptions = {}) {
        const session = serveOptions.session === undefined ? adminSession : serveOptions.session;
        const config: DashboardPageConfig = {
          supabaseUrl: serveOptions.supabaseUrl ?? stack.functions.url,
          publishableKey: stack.publishableKey,
          ...(session
            ? {
              session: { access_token: session.access_token, refresh_token: session.refresh_token },
            }
            : {}),
        };
        const server = await serveDashboard({ dir, config, port: serveOptions.port });
        servers.push(server);
        return server;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
