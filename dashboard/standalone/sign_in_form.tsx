/// <reference lib="dom" />
/** An email and password sign-in for the standalone page (Supabase Auth's password grant). */
import { type FormEvent, useMemo, useState } from "react";
import type { SupabaseClient } from "@supabase/supabase-js";
import { browserLocale, translator } from "../i18n.ts";

/** The sign-in form; the dashboard notices the new session by itself. */
export function SignInForm(props: { client: Pick<SupabaseClient, "auth"> }) {
  const t = useMemo(() => translator(browserLocale()), []);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError("");
    const { error } = await props.client.auth.signInWithPassword({ email, password });
    if (error) setError(error.message);
  };
  return (
    <form className="sv-signin" onSubmit={submit}>
      <label>
        {t.m.email}
        <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
      </label>
      <label>
        {t.m.password}
        <input
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      <button type="submit" className="sv-button">{t.m.signIn}</button>
      {error ? <p className="sv-error" role="alert">{error}</p> : null}
    </form>
  );
}
