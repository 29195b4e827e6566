/**
 * Event triggers whose function is dumped (so a Supabase project's platform event triggers,
 * whose functions live in managed schemas, are left to the platform).
 *
 * @module
 */
import { addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import { quoteLiteral } from "./quote.ts";

/** A row of {@link queryEventTriggers}. */
export interface EventTriggerRow {
  oid: string;
  name: string;
  event: string;
  tags: string[] | null;
  functionOid: string;
  functionSchema: string;
  functionName: string;
  enabled: string;
  owner: string;
  comment: string | null;
}

/** Every event trigger that does not belong to an extension. */
export function queryEventTriggers(sql: Queryable): Promise<EventTriggerRow[]> {
  return sql<EventTriggerRow[]>`
    select e.oid::text as oid, e.evtname as name, e.evtevent as event, e.evttags as tags,
      e.evtfoid::text as "functionOid", n.nspname as "functionSchema",
      p.proname as "functionName", e.evtenabled as enabled,
      pg_get_userbyid(e.evtowner) as owner,
      (select ds.description from pg_description ds where ds.objoid = e.oid
        and ds.classoid = 'pg_event_trigger'::regclass and ds.objsubid = 0) as comment
    from pg_event_trigger e
    join pg_proc p on p.oid = e.evtfoid
    join pg_namespace n on n.oid = p.pronamespace
    where not exists (select from pg_depend d where d.classid = 'pg_event_trigger'::regclass
      and d.objid = e.oid and d.deptype = 'e')
    order by e.evtname`;
}

const ENABLE: Record<string, string> = {
  D: "DISABLE",
  R: "ENABLE REPLICA",
  A: "ENABLE ALWAYS",
};

/** Adds a post-data node per event trigger whose function is dumped. */
export function buildEventTriggers(ctx: ReadContext, rows: EventTriggerRow[]): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const fn = ref("pg_proc", row.functionOid);
    if (!ctx.graph.nodes.has(fn)) continue;
    const name = q.ident(row.name);
    let sql = `CREATE EVENT TRIGGER ${name} ON ${q.ident(row.event)}`;
    if (row.tags && row.tags.length > 0) {
      sql += `\n         WHEN TAG IN (${row.tags.map(quoteLiteral).join(", ")})`;
    }
    sql += `\n   EXECUTE FUNCTION ${q.qualified(row.functionSchema, row.functionName)}();`;
    const enable = ENABLE[row.enabled];
    if (enable) sql += `\nALTER EVENT TRIGGER ${name} ${enable};`;
    const node = ctx.graph.add({
      id: ref("pg_event_trigger", row.oid),
      section: "post-data",
      kind: "EVENT TRIGGER",
      schema: null,
      name: row.name,
      sql,
      priority: PRIORITY.eventTrigger,
      deps: [fn],
    });
    addOwner(ctx, node, { objectType: "EVENT TRIGGER", name, owner: row.owner });
    addComment(node, {
      what: `EVENT TRIGGER ${name}`,
      label: `EVENT TRIGGER ${row.name}`,
      comment: row.comment,
    });
  }
}
