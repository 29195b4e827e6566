/// <reference lib="dom" />
/**
 * Recent runs, filterable by kind and status, paged with "load more"; a run in progress shows
 * its live progress (bytes, items, heartbeat) from the polled run.
 *
 * @module
 */
import type { Translator } from "../i18n.ts";
import type { RunDetail, RunKind, RunStatus, RunSummary } from "../types.ts";
import { Badge } from "./badge.tsx";

const KINDS: RunKind[] = [
  "database",
  "storage",
  "restore_test",
  "verify",
  "prune",
  "replicate",
  "config_backup",
  "code_backup",
];
const STATUSES: RunStatus[] = ["queued", "running", "succeeded", "failed", "cancelled"];

/** The table's filter. */
export interface RunsTableFilter {
  kind?: RunKind;
  status?: RunStatus;
}

function detailText(t: Translator, run: RunSummary, live?: RunDetail): string {
  if (run.status === "queued" || run.status === "running") {
    const now = live ?? run;
    return t.m.progress(t.bytes(now.bytes), t.count(now.items), t.ago(now.heartbeatAt));
  }
  if (run.error) return run.error;
  if (run.kind === "restore_test" && run.rtoSeconds !== null) {
    return `RTO ${t.duration(run.rtoSeconds)}`;
  }
  return run.backupId ?? "";
}

/** The runs table. */
export function RunsTable(props: {
  t: Translator;
  runs: RunSummary[];
  live: Record<string, RunDetail>;
  filter: RunsTableFilter;
  onFilter(filter: RunsTableFilter): void;
  hasMore: boolean;
  onMore(): void;
}) {
  const { t, filter } = props;
  return (
    <section className="sv-panel" aria-label={t.m.runs} data-panel="runs">
      <h2>{t.m.runs}</h2>
      <div className="sv-filters">
        <select
          aria-label={t.m.kind}
          value={filter.kind ?? ""}
          onChange={(e) =>
            props.onFilter({ ...filter, kind: (e.target.value || undefined) as RunKind })}
        >
          <option value="">{t.m.allKinds}</option>
          {KINDS.map((kind) => <option key={kind} value={kind}>{t.m.kinds[kind]}</option>)}
        </select>
        <select
          aria-label={t.m.status}
          value={filter.status ?? ""}
          onChange={(e) =>
            props.onFilter({ ...filter, status: (e.target.value || undefined) as RunStatus })}
        >
          <option value="">{t.m.allStatuses}</option>
          {STATUSES.map((s) => <option key={s} value={s}>{t.m.statuses[s]}</option>)}
        </select>
      </div>
      <table className="sv-table">
        <thead>
          <tr>
            <th>{t.m.started_}</th>
            <th>{t.m.kind}</th>
            <th>{t.m.status}</th>
            <th>{t.m.trigger}</th>
            <th>{t.m.size}</th>
            <th>{t.m.items}</th>
            <th>{t.m.duration}</th>
            <th>{t.m.details}</th>
          </tr>
        </thead>
        <tbody>
          {props.runs.length === 0
            ? (
              <tr>
                <td colSpan={8} className="sv-muted">{t.m.noRuns}</td>
              </tr>
            )
            : null}
          {props.runs.map((run) => {
            const live = props.live[run.id];
            const status = live?.status ?? run.status;
            return (
              <tr key={run.id} data-run-id={run.id} data-status={status} data-kind={run.kind}>
                <td title={run.id}>{t.when(run.createdAt)}</td>
                <td>{t.m.kinds[run.kind]}</td>
                <td>
                  <Badge tone={status} text={t.m.statuses[status]} />
                </td>
                <td>{t.m.triggers[run.trigger] ?? run.trigger}</td>
                <td>{t.bytes(live?.bytes ?? run.bytes)}</td>
                <td>{t.count(live?.items ?? run.items)}</td>
                <td>{run.seconds === null ? "—" : t.duration(run.seconds)}</td>
                <td className={run.error ? "sv-error" : undefined}>
                  {detailText(t, { ...run, status }, live)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {props.hasMore
        ? (
          <p>
            <button type="button" className="sv-button sv-secondary" onClick={props.onMore}>
              {t.m.loadMore}
            </button>
          </p>
        )
        : null}
    </section>
  );
}
