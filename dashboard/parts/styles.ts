/**
 * The dashboard's styles, scoped under `.sv-dashboard` so the component can sit in any app;
 * rendered by the component itself (no stylesheet to fetch).
 *
 * @module
 */
export const STYLES = `
.sv-dashboard { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2433;
  max-width: 1180px; margin: 0 auto; padding: 20px; font-size: 14px; line-height: 1.4; }
.sv-dashboard h1 { font-size: 22px; margin: 0; }
.sv-dashboard h2 { font-size: 15px; margin: 0 0 10px; text-transform: uppercase; letter-spacing: .04em;
  color: #4a5468; }
.sv-header { display: flex; justify-content: space-between; align-items: baseline; gap: 12px;
  margin-bottom: 16px; flex-wrap: wrap; }
.sv-muted { color: #6b7385; }
.sv-panel { background: #fff; border: 1px solid #dfe3ea; border-radius: 8px; padding: 14px 16px;
  margin-bottom: 16px; }
.sv-state { text-align: center; padding: 40px 20px; }
.sv-state h2 { font-size: 18px; text-transform: none; letter-spacing: 0; color: #1d2433; }
.sv-actions { display: flex; gap: 8px; flex-wrap: wrap; }
.sv-button { border: 1px solid #2f5bd3; background: #2f5bd3; color: #fff; border-radius: 6px;
  padding: 7px 12px; font: inherit; cursor: pointer; }
.sv-button.sv-secondary { background: #fff; color: #2f5bd3; }
.sv-button:disabled { opacity: .5; cursor: default; }
.sv-cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(250px, 1fr)); gap: 12px;
  margin-bottom: 16px; }
.sv-card { background: #fff; border: 1px solid #dfe3ea; border-radius: 8px; padding: 14px 16px;
  border-top: 4px solid #9aa3b5; }
.sv-card.sv-ok { border-top-color: #1f9d55; }
.sv-card.sv-warn { border-top-color: #d69e2e; }
.sv-card.sv-fail { border-top-color: #d64545; }
.sv-card h3 { margin: 0 0 6px; font-size: 16px; display: flex; justify-content: space-between; }
.sv-card dl { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; }
.sv-card dt { color: #6b7385; }
.sv-card dd { margin: 0; }
.sv-badge { display: inline-block; border-radius: 10px; padding: 1px 8px; font-size: 12px;
  background: #eef0f4; color: #4a5468; white-space: nowrap; }
.sv-badge.sv-ok, .sv-badge.sv-succeeded { background: #e3f6eb; color: #176c3c; }
.sv-badge.sv-warn, .sv-badge.sv-queued, .sv-badge.sv-running { background: #fdf3dc; color: #8a5a00; }
.sv-badge.sv-fail, .sv-badge.sv-failed { background: #fde8e8; color: #a12727; }
.sv-table { width: 100%; border-collapse: collapse; }
.sv-table th, .sv-table td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #eef0f4;
  vertical-align: top; }
.sv-table th { color: #6b7385; font-weight: 600; font-size: 12px; }
.sv-filters { display: flex; gap: 8px; margin-bottom: 8px; }
.sv-filters select { font: inherit; padding: 4px; }
.sv-alert { border-left: 4px solid #d69e2e; padding: 6px 10px; margin-bottom: 8px; background: #fffaf0; }
.sv-alert.sv-fail { border-left-color: #d64545; background: #fff5f5; }
.sv-alert p { margin: 2px 0; }
.sv-notice { display: flex; justify-content: space-between; gap: 10px; padding: 8px 12px;
  border-radius: 6px; margin-bottom: 8px; background: #eef3ff; }
.sv-notice.sv-fail { background: #fde8e8; }
.sv-notice.sv-ok { background: #e3f6eb; }
.sv-notice.sv-warn { background: #fdf3dc; }
.sv-notice button { background: none; border: none; cursor: pointer; color: inherit; font: inherit; }
.sv-dialog { position: fixed; inset: 0; background: rgba(20, 26, 40, .35); display: flex;
  align-items: center; justify-content: center; z-index: 10; }
.sv-dialog > div { background: #fff; border-radius: 8px; padding: 18px 20px; max-width: 420px;
  box-shadow: 0 10px 30px rgba(0, 0, 0, .2); }
.sv-dialog .sv-actions { justify-content: flex-end; margin-top: 14px; }
.sv-columns { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
@media (max-width: 800px) { .sv-columns { grid-template-columns: 1fr; } }
.sv-error { color: #a12727; }
.sv-signin { display: grid; gap: 8px; max-width: 280px; margin: 16px auto 0; text-align: left; }
.sv-signin input { font: inherit; padding: 6px 8px; border: 1px solid #c9cfda; border-radius: 6px; }
`;
