/**
 * The status cards: Database, Storage, Offsite and Restore test — the last good and last failed
 * run, the age against the objective (RPO), the size, the run in progress, and the last measured
 * restore time (RTO).
 *
 * @module
 */
import type { Translator } from "../i18n.ts";
import type { BackupStatus, KindStatus, RunSummary, Standing } from "../types.ts";
import { Badge } from "./badge.tsx";

type Tone = "ok" | "warn" | "fail" | "none";

function toneOf(standing: Standing, live: RunSummary | null): Tone {
  if (standing.withinObjective === null) return live ? "warn" : "fail";
  if (!standing.withinObjective) return live ? "warn" : "fail";
  const good = standing.latestGood?.createdAt ?? "";
  const failed = standing.latestFailed?.createdAt ?? "";
  return failed > good ? "warn" : "ok";
}

function verdict(t: Translator, tone: Tone, standing: Standing): string {
  if (standing.withinObjective === null) return t.m.noBackup;
  if (tone === "ok") return t.m.withinObjective;
  return standing.withinObjective ? t.m.failing : t.m.late;
}

function Live(props: { t: Translator; run: RunSummary | null }) {
  const { t, run } = props;
  if (!run) return null;
  return (
    <>
      <dt>{t.m.runningNow}</dt>
      <dd>
        <Badge tone={run.status} text={t.m.statuses[run.status]} /> {t.bytes(run.bytes)} ·{" "}
        {t.ago(run.heartbeatAt ?? run.createdAt)}
      </dd>
    </>
  );
}

function KindCard(props: { t: Translator; status: KindStatus; title: string }) {
  const { t, status } = props;
  const tone = toneOf(status, status.live);
  return (
    <section className={`sv-card sv-${tone}`} data-card={status.kind}>
      <h3>
        {props.title} <Badge tone={tone} text={verdict(t, tone, status)} />
      </h3>
      <dl>
        <dt>{t.m.lastGood}</dt>
        <dd>
          {status.latestGood ? t.ago(status.latestGood.finishedAt) : t.m.never}{" "}
          <span className="sv-muted">
            ({t.m.objective(t.duration(status.objective.ms / 1000))})
          </span>
        </dd>
        <dt>{t.m.size}</dt>
        <dd>{status.latestGood ? t.bytes(status.latestGood.bytes) : "—"}</dd>
        <dt>{t.m.lastFailed}</dt>
        <dd title={status.latestFailed?.error ?? undefined}>
          {status.latestFailed ? t.ago(status.latestFailed.createdAt) : t.m.never}
        </dd>
        <Live t={t} run={status.live} />
      </dl>
    </section>
  );
}

function OffsiteCard(props: { t: Translator; status: BackupStatus }) {
  const { t, status } = props;
  const rows = status.kinds.flatMap((kind) =>
    kind.targets.filter((target) => target.offsite).map((target) => ({ kind, target }))
  );
  const tone: Tone = rows.length === 0
    ? "none"
    : rows.every((row) => row.target.withinObjective)
    ? "ok"
    : "fail";
  const never = rows.every((row) => row.target.withinObjective === null);
  return (
    <section className={`sv-card sv-${tone}`} data-card="offsite">
      <h3>
        {t.m.offsite} {tone === "none" ? null : (
          <Badge
            tone={tone}
            text={tone === "ok" ? t.m.withinObjective : never ? t.m.noBackup : t.m.late}
          />
        )}
      </h3>
      {rows.length === 0 ? <p className="sv-muted">{t.m.noOffsite}</p> : (
        <dl>
          {rows.map(({ kind, target }) => (
            <div key={`${kind.kind}:${target.target}`} style={{ display: "contents" }}>
              <dt>
                {target.target} · {kind.kind === "database" ? t.m.database : t.m.storage}
              </dt>
              <dd>{target.latestGood ? t.ago(target.latestGood.finishedAt) : t.m.never}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

function RestoreCard(props: { t: Translator; status: BackupStatus }) {
  const { t } = props;
  const test = props.status.restoreTest;
  const tone = toneOf(test, test.live);
  return (
    <section className={`sv-card sv-${tone}`} data-card="restore_test">
      <h3>
        {t.m.restoreTest} <Badge tone={tone} text={verdict(t, tone, test)} />
      </h3>
      <dl>
        <dt>{t.m.lastGood}</dt>
        <dd>
          {test.latestGood ? t.ago(test.latestGood.finishedAt) : t.m.never}{" "}
          <span className="sv-muted">({t.m.objective(t.duration(test.maxAgeMs / 1000))})</span>
        </dd>
        <dt>{t.m.rto}</dt>
        <dd data-rto>{test.lastRtoSeconds === null ? "—" : t.duration(test.lastRtoSeconds)}</dd>
        <dt>{t.m.lastFailed}</dt>
        <dd title={test.latestFailed?.error ?? undefined}>
          {test.latestFailed ? t.ago(test.latestFailed.createdAt) : t.m.never}
        </dd>
        <Live t={t} run={test.live} />
      </dl>
    </section>
  );
}

/** The four cards. */
export function StatusCards(props: { t: Translator; status: BackupStatus }) {
  const { t, status } = props;
  const database = status.kinds.find((k) => k.kind === "database");
  const storage = status.kinds.find((k) => k.kind === "storage");
  return (
    <div className="sv-cards">
      {database ? <KindCard t={t} status={database} title={t.m.database} /> : null}
      {storage ? <KindCard t={t} status={storage} title={t.m.storage} /> : null}
      <OffsiteCard t={t} status={status} />
      <RestoreCard t={t} status={status} />
    </div>
  );
}
