/**
 * Large objects' definitions, as pg_dump writes them: `SELECT pg_catalog.lo_create('<oid>');`,
 * `ALTER LARGE OBJECT <oid> OWNER TO …`, `COMMENT ON LARGE OBJECT …`, and GRANT/REVOKE against
 * `acldefault('L', owner)`. Their contents are not DDL: the backup copies them as a stream
 * (`pg/large_objects.ts`), which the restore writes into the objects these statements create.
 *
 * The definitions are pre-data here (the objects must exist before their contents load); their
 * privileges are post-data like every ACL. As pg_dump 17 does, objects are grouped: one
 * statement creates up to {@link GROUP_SIZE} objects of one owner and one guarded statement
 * hands them to that owner, so thousands of small objects cost a few round trips to restore,
 * not thousands. Comments and privileges are per object.
 *
 * pg_dump counts all of this as data: `--schema-only` leaves large objects out, `--data-only`
 * keeps them, and so do a restore's modes ({@link isLargeObjectStatement}).
 *
 * @module
 */
import { addAcl, addComment, type ReadContext, whenMemberOf } from "./context.ts";
import type { Queryable } from "./db.ts";
import { type DumpNode, PRIORITY } from "./graph.ts";
import type { DumpScope, SchemaStatement } from "./model.ts";

/** Large objects created by one statement at most. */
const GROUP_SIZE = 1000;

/** A row of {@link queryLargeObjectGroups}: consecutive objects of one owner. */
export interface LargeObjectGroupRow {
  owner: string;
  oids: string[];
}

/** Every large object, in groups of one owner's objects, in oid order. */
export function queryLargeObjectGroups(sql: Queryable): Promise<LargeObjectGroupRow[]> {
  return sql<LargeObjectGroupRow[]>`
    select pg_get_userbyid(g.owner) as owner, array_agg(g.oid::text order by g.oid) as oids
    from (
      select l.oid, l.lomowner as owner,
        (row_number() over (partition by l.lomowner order by l.oid) - 1) / ${GROUP_SIZE} as block
      from pg_largeobject_metadata l
    ) g
    group by g.owner, g.block
    order by min(g.oid)`;
}

/** A row of {@link queryLargeObjectDetails}. */
export interface LargeObjectDetailRow {
  oid: string;
  owner: string;
  acl: string[] | null;
  base: string[];
  comment: string | null;
}

/** The large objects that have privileges of their own or a comment. */
export function queryLargeObjectDetails(sql: Queryable): Promise<LargeObjectDetailRow[]> {
  return sql<LargeObjectDetailRow[]>`
    select l.oid::text as oid, pg_get_userbyid(l.lomowner) as owner,
      l.lomacl::text[] as acl, acldefault('L', l.lomowner)::text[] as base,
      ds.description as comment
    from pg_largeobject_metadata l
    left join pg_description ds on ds.objoid = l.oid
      and ds.classoid = 'pg_largeobject'::regclass and ds.objsubid = 0
    where l.lomacl is not null or ds.description is not null
    order by l.oid`;
}

/** Whether a dump of `scope` holds large objects: as pg_dump, only one of everything's data. */
export function dumpsLargeObjects(scope: DumpScope): boolean {
  return !scope.schemaOnly && scope.includeSchemas === undefined &&
    scope.includeTables === undefined;
}

/** Adds a pre-data node per group of large objects, with owners, comments and privileges. */
export function buildLargeObjects(
  ctx: ReadContext,
  groups: readonly LargeObjectGroupRow[],
  details: readonly LargeObjectDetailRow[],
): void {
  const q = ctx.quoter;
  const detailOf = new Map(details.map((row) => [row.oid, row]));
  for (const group of groups) {
    const first = group.oids[0];
    const last = group.oids[group.oids.length - 1];
    const label = group.oids.length === 1 ? first : `${first}..${last}`;
    const node: DumpNode = ctx.graph.add({
      id: `blob:${first}`,
      section: "pre-data",
      kind: "BLOB",
      schema: null,
      name: label,
      // Oids are digits, from the catalog.
      sql: group.oids.map((oid) => `SELECT pg_catalog.lo_create('${oid}');`).join("\n"),
      priority: PRIORITY.largeObject,
    });
    ctx.roles.add(group.owner);
    const alter = group.oids.map((oid) =>
      `ALTER LARGE OBJECT ${oid} OWNER TO ${q.ident(group.owner)};`
    );
    node.after.push({
      section: node.section,
      kind: "OWNER",
      schema: null,
      name: `LARGE OBJECT ${label}`,
      sql: whenMemberOf(alter.join("\n"), { role: group.owner, quoter: q }),
    });
    for (const oid of group.oids) {
      const detail = detailOf.get(oid);
      if (!detail) continue;
      addComment(node, {
        what: `LARGE OBJECT ${oid}`,
        label: `LARGE OBJECT ${oid}`,
        comment: detail.comment,
      });
      addAcl(ctx, node, {
        acl: detail.acl,
        base: detail.base,
        target: { type: "LARGE OBJECT", name: oid, owner: detail.owner },
        label: `LARGE OBJECT ${oid}`,
      });
    }
  }
}

/**
 * Whether a statement is about large objects (their creation, owner, comment or privileges):
 * data to pg_dump, so left out of schema-only restores and kept by data-only ones.
 */
export function isLargeObjectStatement(
  statement: Pick<SchemaStatement, "kind" | "name">,
): boolean {
  if (statement.kind === "BLOB") return true;
  return (statement.kind === "OWNER" || statement.kind === "COMMENT" ||
    statement.kind === "ACL") && statement.name.startsWith("LARGE OBJECT ");
}

const CREATED = /lo_create\('(\d+)'\)/g;

/** The oids a backup's large-object statements create. */
export function largeObjectOids(statements: readonly Pick<SchemaStatement, "kind" | "sql">[]) {
  const oids: string[] = [];
  for (const statement of statements) {
    if (statement.kind !== "BLOB") continue;
    for (const match of statement.sql.matchAll(CREATED)) oids.push(match[1]);
  }
  return oids;
}
