/// <reference lib="dom" />
/**
 * The standalone dashboard page: the same `<BackupDashboard>` on a page of its own, for a static
 * host. It reads `config.json` beside it (`supabaseUrl`, `publishableKey`, and optionally a
 * `session` to start with, as `deno task dashboard` gives), keeps the Supabase session in the
 * browser as supabase-js does, and offers an email and password sign-in when nobody is signed in.
 *
 * @module
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { createRoot } from "react-dom/client";
import { BackupDashboard } from "../backup_dashboard.tsx";
import { SignInForm } from "./sign_in_form.tsx";

/** `config.json`. */
export interface PageConfig {
  supabaseUrl: string;
  publishableKey: string;
  session?: { access_token: string; refresh_token: string };
}

async function start(): Promise<void> {
  const root = createRoot(document.getElementById("root")!);
  const config = await (await fetch("./config.json")).json() as PageConfig;
  const client: SupabaseClient = createClient(config.supabaseUrl, config.publishableKey);
  const { data } = await client.auth.getSession();
  if (!data.session && config.session) await client.auth.setSession(config.session);
  root.render(<BackupDashboard client={client} signIn={<SignInForm client={client} />} />);
}

start();
