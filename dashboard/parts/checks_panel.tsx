/** The last verification's checks, and the schedules with their next runs. */
import type { Translator } from "../i18n.ts";
import type { BackupStatus } from "../types.ts";
import { Badge } from "./badge.tsx";

/** The checks of the last verification. */
export function ChecksPanel(props: { t: Translator; status: BackupStatus }) {
  const { t } = props;
  const verification = props.status.verification;
  return (
    <section className="sv-panel" aria-label={t.m.checks} data-panel="checks">
      <h2>{t.m.checks}</h2>
      {!verification ? <p className="sv-muted">{t.m.noVerification}</p> : (
        <>
          <p>
            <Badge tone={verification.status} text={t.m.checkStatuses[verification.status]} />{" "}
            {verification.summary}{" "}
            <span className="sv-muted">· {t.ago(verification.finishedAt)}</span>
          </p>
          <table className="sv-table">
            <tbody>
              {verification.checks.map((check) => (
                <tr key={check.id} data-check={check.id}>
                  <td>
                    <Badge tone={check.status} text={t.m.checkStatuses[check.status]} />
                  </td>
                  <td>
                    <code>{check.id}</code>
                    <div>{check.summary}</div>
                    {check.nextStep
                      ? <div className="sv-muted">{t.m.whatToDo}: {check.nextStep}</div>
                      : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** The schedule suite: each job, its schedule, its last and next runs. */
export function SchedulesPanel(props: { t: Translator; status: BackupStatus }) {
  const { t } = props;
  const schedules = props.status.schedules;
  return (
    <section className="sv-panel" aria-label={t.m.schedules} data-panel="schedules">
      <h2>
        {t.m.schedules}{" "}
        {schedules.timeZone ? <span className="sv-muted">({schedules.timeZone})</span> : null}
      </h2>
      {!schedules.installed ? <p className="sv-error">{t.m.pgCronMissing}</p> : null}
      <table className="sv-table">
        <thead>
          <tr>
            <th>{t.m.job}</th>
            <th>{t.m.schedule}</th>
            <th>{t.m.lastRun}</th>
            <th>{t.m.nextRun}</th>
          </tr>
        </thead>
        <tbody>
          {schedules.jobs.map((job) => (
            <tr key={job.job} data-job={job.job} title={job.description ?? undefined}>
              <td>{job.job}</td>
              <td>
                {job.schedule && job.active
                  ? <code>{job.schedule}</code>
                  : <span className="sv-muted">{t.m.off}</span>}
              </td>
              <td>
                {t.ago(job.lastRunAt)}
                {job.lastStatus === "failed" ? <Badge tone="fail" text={t.m.failing} /> : null}
              </td>
              <td>{job.nextRunAt ? t.when(job.nextRunAt) : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
