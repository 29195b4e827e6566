/**
 * Helpers for the database-wide kinds that live in no schema (languages, foreign data wrappers,
 * servers, access methods, transforms).
 *
 * @module
 */
import type { ReadContext } from "./context.ts";
import { type DumpNode, ref } from "./graph.ts";

/** Objects below this oid were created by initdb. */
const FIRST_NORMAL_OID = 16384;

/** A function named by a catalog row: its schema and name (quoted when rendered). */
export interface FunctionName {
  schema: string;
  name: string;
}

/**
 * A node that only carries the privileges granted on an extension's own object since the
 * extension created it: pg_dump dumps those, never the object itself. It follows the
 * extension (the member's alias); undefined when the extension is neither dumped nor built in
 * (plpgsql), as the object would then not exist where the dump is restored.
 */
export function addMemberAclNode(
  ctx: ReadContext,
  options: { catalog: string; oid: string; kind: string; name: string; priority: number },
): DumpNode | undefined {
  const extension = ctx.graph.resolve(ref(options.catalog, options.oid)) ?? "";
  const builtIn = extension.startsWith("pg_extension:") &&
    Number(extension.slice("pg_extension:".length)) < FIRST_NORMAL_OID;
  if (!builtIn && !ctx.graph.nodes.has(extension)) return undefined;
  return ctx.graph.add({
    id: `acl:${ref(options.catalog, options.oid)}`,
    section: "pre-data",
    kind: options.kind,
    schema: null,
    name: options.name,
    sql: "",
    priority: options.priority,
    deps: [ref(options.catalog, options.oid)],
  });
}
