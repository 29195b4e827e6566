/**
 * `<BackupDashboard client={supabase} />`: Sauvegarde's dashboard as a React component for the
 * project's own app. It reads the status API (`GET trigger-backup`) with the signed-in user's
 * session every few seconds, follows the runs it starts (polling the run) to their end, and
 * shows clear states when nobody is signed in, when the user is not a backup admin (403), and
 * when the functions cannot be reached. English or French, from the browser's languages.
 *
 * @module
 */
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Session } from "@supabase/supabase-js";
import { ApiError, DashboardApi, type DashboardClient } from "./api.ts";
import { browserLocale, type Locale, translator } from "./i18n.ts";
import type { Action, BackupStatus, RunDetail, RunKind, RunSummary } from "./types.ts";
import { ActionsPanel, type Notice } from "./parts/actions.tsx";
import { AlertsPanel } from "./parts/alerts_panel.tsx";
import { ChecksPanel, SchedulesPanel } from "./parts/checks_panel.tsx";
import { RunsTable, type RunsTableFilter } from "./parts/runs_table.tsx";
import { StatusCards } from "./parts/status_cards.tsx";
import { STYLES } from "./parts/styles.ts";

/** Props of {@link BackupDashboard}. */
export interface BackupDashboardProps {
  /** The app's Supabase client; its session is the user's. */
  client: DashboardClient;
  /** Default: from the browser's languages. */
  locale?: Locale;
  /** How often the status is read again (default 5 s). */
  refreshMs?: number;
  /** How often a followed run is polled (default 1 s). */
  pollMs?: number;
  /** Shown in the not-signed-in state (the app's sign-in, for instance). */
  signIn?: ReactNode;
}

type Phase = "loading" | "ready" | "signed_out" | "forbidden" | "unreachable" | "failed";

const LIVE = new Set(["queued", "running"]);

/** The dashboard. */
export function BackupDashboard(props: BackupDashboardProps) {
  const { client } = props;
  const t = useMemo(() => translator(props.locale ?? browserLocale()), [props.locale]);
  const api = useMemo(() => new DashboardApi(client), [client]);
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [phase, setPhase] = useState<Phase>("loading");
  const [problem, setProblem] = useState("");
  const [status, setStatus] = useState<BackupStatus | null>(null);
  const [filter, setFilter] = useState<RunsTableFilter>({});
  const [older, setOlder] = useState<{ items: RunSummary[]; cursor: string | null } | null>(null);
  const [followed, setFollowed] = useState<Record<string, RunDetail>>({});
  const [notices, setNotices] = useState<Notice[]>([]);
  const [confirming, setConfirming] = useState<Action | null>(null);
  const [sending, setSending] = useState(0);
  const nextNotice = useRef(1);
  const labels = useRef(new Map<string, RunKind>());

  useEffect(() => {
    let live = true;
    client.auth.getSession().then(({ data }) => live && setSession(data.session));
    const { data } = client.auth.onAuthStateChange((_event, next) => setSession(next));
    return () => {
      live = false;
      data.subscription.unsubscribe();
    };
  }, [client]);

  const notify = useCallback((tone: Notice["tone"], text: string, runId?: string) => {
    const id = nextNotice.current++;
    setNotices((list) => [...list.slice(-4), { id, tone, text, runId }]);
  }, []);

  const failWith = useCallback((error: unknown): boolean => {
    if (!(error instanceof ApiError)) return false;
    if (error.kind === "signed_out") setPhase("signed_out");
    else if (error.kind === "forbidden") setPhase("forbidden");
    else if (error.kind === "unreachable") setPhase("unreachable");
    else return false;
    return true;
  }, []);

  const refresh = useCallback(async () => {
    try {
      const next = await api.status(filter);
      setStatus(next);
      setPhase("ready");
    } catch (error) {
      if (!failWith(error)) {
        setProblem(error instanceof Error ? error.message : String(error));
        setPhase("failed");
      }
    }
  }, [api, filter, failWith]);

  // Read the status while someone is signed in, again every few seconds.
  useEffect(() => {
    if (session === undefined) return;
    if (session === null) {
      setPhase("signed_out");
      return;
    }
    refresh();
    const timer = setInterval(refresh, props.refreshMs ?? 5000);
    return () => clearInterval(timer);
  }, [session, refresh, props.refreshMs]);

  const follow = useCallback((runId: string, kind: RunKind) => {
    labels.current.set(runId, kind);
    setFollowed((runs) => (runs[runId] ? runs : {
      ...runs,
      [runId]: {
        id: runId,
        kind,
        status: "queued",
        bytes: 0,
        items: 0,
        error: null,
        startedAt: null,
        heartbeatAt: null,
        finishedAt: null,
        details: {},
      },
    }));
  }, []);

  // Poll the runs being followed until each ends, then say how it ended.
  const liveIds = Object.values(followed).filter((run) => LIVE.has(run.status)).map((r) => r.id);
  const liveKey = liveIds.join(",");
  useEffect(() => {
    if (!liveKey) return;
    const timer = setInterval(async () => {
      for (const id of liveKey.split(",")) {
        try {
          const run = await api.run(id);
          setFollowed((runs) => ({ ...runs, [id]: run }));
          if (!LIVE.has(run.status)) {
            const what = t.m.kinds[labels.current.get(id) ?? run.kind];
            const text = t.m.finished(what, t.m.statuses[run.status]) +
              (run.error ? `: ${run.error}` : "");
            notify(run.status === "succeeded" ? "ok" : "fail", text, id);
            refresh();
          }
        } catch (error) {
          failWith(error);
        }
      }
    }, props.pollMs ?? 1000);
    return () => clearInterval(timer);
  }, [liveKey, api, t, notify, refresh, failWith, props.pollMs]);

  const start = useCallback(async (action: Action) => {
    setSending((n) => n + 1);
    try {
      if (action === "verify") {
        const report = await api.verify();
        notify(
          report.status === "ok" ? "ok" : report.status === "warn" ? "warn" : "fail",
          t.m.verified(report.summary),
          report.runId,
        );
      } else {
        const started = await api.trigger(action);
        const runs = started.runs ?? [{ kind: action as RunKind, runId: started.runId }];
        for (const run of runs) follow(run.runId, run.kind);
        if (started.waitsForWorker) notify("info", t.m.waitsForWorker(started.runId));
        else {
          for (const run of runs) {
            notify("info", t.m.started(t.m.kinds[run.kind], run.runId), run.runId);
          }
        }
      }
      await refresh();
    } catch (error) {
      if (error instanceof ApiError && error.kind === "conflict") {
        if (error.runId) {
          follow(error.runId, action === "all" || action === "verify" ? "database" : action);
          notify("warn", t.m.conflict(error.runId), error.runId);
        } else notify("warn", t.m.conflictNoRun);
        await refresh();
      } else if (!failWith(error)) {
        notify("fail", error instanceof Error ? error.message : String(error));
      }
    } finally {
      setSending((n) => n - 1);
      setConfirming(null);
    }
  }, [api, t, notify, follow, refresh, failWith]);

  const changeFilter = useCallback((next: RunsTableFilter) => {
    setFilter(next);
    setOlder(null);
  }, []);

  const loadMore = useCallback(async () => {
    const cursor = older?.cursor ?? status?.runs.nextCursor;
    if (!cursor) return;
    try {
      const page = await api.runs({ ...filter, cursor });
      setOlder((previous) => ({
        items: [...(previous?.items ?? []), ...page.items],
        cursor: page.nextCursor,
      }));
    } catch (error) {
      if (!failWith(error)) notify("fail", error instanceof Error ? error.message : String(error));
    }
  }, [api, filter, older, status, failWith, notify]);

  const email = session?.user?.email ?? session?.user?.id ?? "";
  const runs = useMemo(() => {
    const first = status?.runs.items ?? [];
    const seen = new Set(first.map((run) => run.id));
    return [...first, ...(older?.items ?? []).filter((run) => !seen.has(run.id))];
  }, [status, older]);

  return (
    <div className="sv-dashboard" data-state={phase} lang={t.locale}>
      <style>{STYLES}</style>
      <header className="sv-header">
        <h1>{t.m.title}</h1>
        <span className="sv-muted">
          {email ? t.m.signedInAs(email) : null}
          {status && phase === "ready" ? ` · ${t.m.updated(t.ago(status.generatedAt))}` : null}
        </span>
      </header>
      {phase === "loading" ? <p className="sv-state sv-muted">{t.m.loading}</p> : null}
      {phase === "signed_out"
        ? (
          <section className="sv-panel sv-state" data-panel="signed-out">
            <h2>{t.m.signedOutTitle}</h2>
            <p>{t.m.signedOutText}</p>
            {props.signIn}
          </section>
        )
        : null}
      {phase === "forbidden"
        ? (
          <section className="sv-panel sv-state" data-panel="forbidden">
            <h2>{t.m.forbiddenTitle}</h2>
            <p>{t.m.forbiddenText(email)}</p>
          </section>
        )
        : null}
      {phase === "unreachable" || phase === "failed"
        ? (
          <section className="sv-panel sv-state" data-panel={phase}>
            <h2>{phase === "unreachable" ? t.m.unreachableTitle : t.m.failedTitle}</h2>
            <p className={phase === "failed" ? "sv-error" : undefined}>
              {phase === "unreachable" ? t.m.unreachableText : problem}
            </p>
            <button type="button" className="sv-button" onClick={refresh}>{t.m.retry}</button>
          </section>
        )
        : null}
      {phase === "ready" && status
        ? (
          <>
            <ActionsPanel
              t={t}
              notices={notices}
              confirming={confirming}
              sending={sending > 0}
              onAsk={setConfirming}
              onConfirm={start}
              onCancel={() => setConfirming(null)}
              onDismiss={(id) => setNotices((list) => list.filter((n) => n.id !== id))}
            />
            <StatusCards t={t} status={status} />
            <AlertsPanel t={t} alerts={status.alerts} />
            <RunsTable
              t={t}
              runs={runs}
              live={followed}
              filter={filter}
              onFilter={changeFilter}
              hasMore={Boolean(older ? older.cursor : status.runs.nextCursor)}
              onMore={loadMore}
            />
            <div className="sv-columns">
              <ChecksPanel t={t} status={status} />
              <SchedulesPanel t={t} status={status} />
            </div>
          </>
        )
        : null}
    </div>
  );
}
