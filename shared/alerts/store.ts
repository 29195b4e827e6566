/**
 * `alert_state`: reads and writes alert rows (service role).
 *
 * @module
 */
import type postgres from "postgres";
import type { AlertState } from "./state.ts";

// deno-lint-ignore no-explicit-any
function toAlert(row: any): AlertState {
  return {
    key: row.key,
    status: row.status,
    severity: row.severity,
    title: row.title,
    summary: row.summary,
    nextStep: row.next_step,
    openedAt: row.opened_at,
    lastSeenAt: row.last_seen_at,
    resolvedAt: row.resolved_at,
    notifiedStatus: row.notified_status,
    notifiedSeverity: row.notified_severity,
    lastSentAt: row.last_sent_at,
    sends: row.sends,
    runId: row.run_id,
  };
}

/** Every alert row, locked for update when given a transaction that asks for it. */
export async function loadAlerts(
  sql: postgres.Sql | postgres.TransactionSql,
  options: { lock?: boolean } = {},
): Promise<Map<string, AlertState>> {
  const rows = options.lock
    ? await sql`select * from public.alert_state for update`
    : await sql`select * from public.alert_state`;
  return new Map(rows.map((row) => [row.key, toAlert(row)]));
}

/** The alerts firing now, newest first. */
export async function firingAlerts(sql: postgres.Sql): Promise<AlertState[]> {
  const rows = await sql`
    select * from public.alert_state where status = 'firing' order by opened_at desc`;
  return rows.map(toAlert);
}

/** Inserts or replaces an alert row. */
export async function saveAlert(
  sql: postgres.Sql | postgres.TransactionSql,
  alert: AlertState,
): Promise<void> {
  await sql`
    insert into public.alert_state (
      key, status, severity, title, summary, next_step, opened_at, last_seen_at, resolved_at,
      notified_status, notified_severity, last_sent_at, sends, run_id, updated_at)
    values (
      ${alert.key}, ${alert.status}, ${alert.severity}, ${alert.title}, ${alert.summary},
      ${alert.nextStep}, ${alert.openedAt}, ${alert.lastSeenAt}, ${alert.resolvedAt},
      ${alert.notifiedStatus}, ${alert.notifiedSeverity}, ${alert.lastSentAt}, ${alert.sends},
      ${alert.runId}, now())
    on conflict (key) do update set
      status = excluded.status, severity = excluded.severity, title = excluded.title,
      summary = excluded.summary, next_step = excluded.next_step,
      opened_at = excluded.opened_at, last_seen_at = excluded.last_seen_at,
      resolved_at = excluded.resolved_at, notified_status = excluded.notified_status,
      notified_severity = excluded.notified_severity, last_sent_at = excluded.last_sent_at,
      sends = excluded.sends, run_id = excluded.run_id, updated_at = now()`;
}

/**
 * Undoes a claimed send that was not delivered, so the next evaluation sends it again;
 * only if nobody changed the row since (its last_sent_at is still the claim's).
 */
export async function releaseSend(
  sql: postgres.Sql,
  claimed: AlertState,
  previous: AlertState | undefined,
): Promise<void> {
  await sql`
    update public.alert_state set
      notified_status = ${previous?.notifiedStatus ?? null},
      notified_severity = ${previous?.notifiedSeverity ?? null},
      last_sent_at = ${previous?.lastSentAt ?? null},
      sends = ${claimed.status === "resolved" ? claimed.sends : Math.max(claimed.sends - 1, 0)},
      updated_at = now()
    where key = ${claimed.key} and last_sent_at = ${claimed.lastSentAt}`;
}
