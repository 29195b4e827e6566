/** Open alerts, worst first, each with what to do next. */
import type { Translator } from "../i18n.ts";
import type { OpenAlert } from "../types.ts";

/** The open alerts. */
export function AlertsPanel(props: { t: Translator; alerts: OpenAlert[] }) {
  const { t } = props;
  const alerts = [...props.alerts].sort((a, b) =>
    a.severity === b.severity ? 0 : a.severity === "fail" ? -1 : 1
  );
  return (
    <section className="sv-panel" aria-label={t.m.alerts} data-panel="alerts">
      <h2>{t.m.alerts}</h2>
      {alerts.length === 0 ? <p className="sv-muted">{t.m.noAlerts}</p> : null}
      {alerts.map((alert) => (
        <div key={alert.key} className={`sv-alert sv-${alert.severity}`} data-alert={alert.key}>
          <p>
            <strong>{alert.title}</strong>{" "}
            <span className="sv-muted">{t.m.since(t.ago(alert.openedAt))}</span>
          </p>
          <p>{alert.summary}</p>
          {alert.nextStep
            ? (
              <p>
                <strong>{t.m.whatToDo}:</strong> {alert.nextStep}
              </p>
            )
            : null}
        </div>
      ))}
    </section>
  );
}
