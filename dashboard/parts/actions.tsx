/**
 * The action buttons (back up the database, Storage or both, test restore, verify now), the
 * confirmation each asks for, and the notices that follow an action to its end.
 *
 * The confirmation's button does not lock itself while its request is out: the functions are
 * the guard (one live run per kind), and a second press is answered 409 with the live run,
 * which the page then follows.
 *
 * @module
 */
import type { Translator } from "../i18n.ts";
import type { Action } from "../types.ts";

/** A line under the buttons: what an action did, and how it ended. */
export interface Notice {
  id: number;
  tone: "info" | "ok" | "warn" | "fail";
  text: string;
  runId?: string;
}

const BUTTONS: Array<{ action: Action; label: (t: Translator) => string; primary?: boolean }> = [
  { action: "database", label: (t) => t.m.backupDatabase, primary: true },
  { action: "storage", label: (t) => t.m.backupStorage },
  { action: "all", label: (t) => t.m.backupBoth },
  { action: "restore_test", label: (t) => t.m.testRestore },
  { action: "verify", label: (t) => t.m.verifyNow },
];

/** The buttons and notices. */
export function ActionsPanel(props: {
  t: Translator;
  notices: Notice[];
  confirming: Action | null;
  sending: boolean;
  onAsk(action: Action): void;
  onConfirm(action: Action): void;
  onCancel(): void;
  onDismiss(id: number): void;
}) {
  const { t } = props;
  return (
    <section className="sv-panel" aria-label={t.m.actions} data-panel="actions">
      <div className="sv-actions">
        {BUTTONS.map((button) => (
          <button
            key={button.action}
            type="button"
            data-action={button.action}
            className={`sv-button${button.primary ? "" : " sv-secondary"}`}
            onClick={() => props.onAsk(button.action)}
          >
            {button.label(t)}
          </button>
        ))}
      </div>
      {props.notices.length
        ? (
          <div style={{ marginTop: 12 }}>
            {props.notices.map((notice) => (
              <div
                key={notice.id}
                className={`sv-notice sv-${notice.tone}`}
                role="status"
                data-notice={notice.tone}
                data-run-id={notice.runId}
              >
                <span>{notice.text}</span>
                <button
                  type="button"
                  aria-label={t.m.dismiss}
                  onClick={() => props.onDismiss(notice.id)}
                >
                  ×
                </button>
              </div>
            ))}
          </div>
        )
        : null}
      {props.confirming
        ? (
          <div className="sv-dialog" role="dialog" aria-modal="true" aria-label={t.m.confirmTitle}>
            <div>
              <h2>{t.m.confirmTitle}</h2>
              <p>{t.m.confirmText[props.confirming]}</p>
              <div className="sv-actions">
                <button
                  type="button"
                  className="sv-button sv-secondary"
                  onClick={props.onCancel}
                >
                  {t.m.cancel}
                </button>
                <button
                  type="button"
                  className="sv-button"
                  data-confirm={props.confirming}
                  aria-busy={props.sending}
                  onClick={() => props.onConfirm(props.confirming!)}
                >
                  {t.m.confirm}
                </button>
              </div>
            </div>
          </div>
        )
        : null}
    </section>
  );
}
