/**
 * pg_cron's jobs come back as the rows of its configuration table `cron.job`
 * (`extension_config.ts`), but its scheduler reloads them only when a statement-level trigger
 * on that table tells it to, and a restore loads rows with triggers off: the restored jobs
 * would not run until the next `cron.schedule` or server restart. So once the rows are in, a
 * post-data statement (kind `CRON RELOAD`) touches the table with triggers on, for itself
 * alone (an UPDATE of no row: the trigger fires per statement).
 *
 * @module
 */
import type { ReadContext } from "./context.ts";
import { PRIORITY } from "./graph.ts";
import type { TableToCopy } from "./model.ts";
import { dollarQuote } from "./quote.ts";

/** Adds the reload when pg_cron's job table is among the tables copied. */
export function addCronReload(ctx: ReadContext, tables: readonly TableToCopy[]): void {
  const job = tables.find((t) =>
    t.schema === "cron" && t.name === "job" && t.extension?.name === "pg_cron"
  );
  if (!job) return;
  const body = [
    "DECLARE",
    "  previous text := pg_catalog.current_setting('session_replication_role');",
    "BEGIN",
    "  IF previous <> 'origin' THEN",
    "    PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);",
    "  END IF;",
    `  UPDATE ${ctx.quoter.qualified("cron", "job")} SET jobid = jobid WHERE false;`,
    "  IF previous <> 'origin' THEN",
    "    PERFORM pg_catalog.set_config('session_replication_role', previous, true);",
    "  END IF;",
    "END",
  ].join("\n");
  ctx.graph.add({
    id: "cron-reload",
    section: "post-data",
    kind: "CRON RELOAD",
    schema: "cron",
    name: "job",
    sql: `DO ${dollarQuote(body)};`,
    priority: PRIORITY.sequenceSet,
  });
}
