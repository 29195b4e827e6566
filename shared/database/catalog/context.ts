/**
 * State shared by the builders while one schema is read: the graph, the quoter, the scope,
 * the roles referred to, and helpers for the statements every object kind has (owner,
 * comments, privileges).
 *
 * @module
 */
import { aclStatements, type AclTarget, parseAclItem } from "./acl.ts";
import type { DumpGraph, DumpNode } from "./graph.ts";
import { dollarQuote, quoteLiteral, type Quoter } from "./quote.ts";
import type { ScopeFilter } from "./scope.ts";

/** What every builder gets. */
export interface ReadContext {
  graph: DumpGraph;
  quoter: Quoter;
  filter: ScopeFilter;
  /** Roles that statements refer to. */
  roles: Set<string>;
  warnings: string[];
  /** Objects that belong to an extension (never dumped themselves), as object refs. */
  members: Set<string>;
  /**
   * The ACL a destination gives an object a restore creates, when it may differ from
   * `acldefault()` (a Supabase project's default privileges: `supabase_grants.ts`).
   */
  createdAcl?: (
    options: { type: string; schema: string | null; owner: string; base: string[] | null },
  ) => string[] | undefined;
}

/**
 * Wraps statements in a DO block that runs them only when the role exists and the restoring
 * user is a member of it (a superuser always is).
 */
export function whenMemberOf(
  statements: string,
  options: { role: string; quoter: Quoter },
): string {
  const { role, quoter } = options;
  const literal = quoteLiteral(quoter.ident(role));
  const body =
    `BEGIN\n  IF pg_catalog.pg_has_role(pg_catalog.to_regrole(${literal}), 'MEMBER') THEN\n` +
    `    ${statements.replaceAll("\n", "\n    ")}\n  END IF;\nEND`;
  return `DO ${dollarQuote(body)};`;
}

/**
 * `ALTER <kind> <name> OWNER TO <role>`, run only when the role exists and the restoring user
 * may hand objects to it (a superuser always may), so a restore into a project without the
 * role keeps going, owned by the restoring user.
 */
export function ownerSql(
  options: { objectType: string; name: string; owner: string; quoter: Quoter },
): string {
  const { objectType, name, owner, quoter } = options;
  return whenMemberOf(`ALTER ${objectType} ${name} OWNER TO ${quoter.ident(owner)};`, {
    role: owner,
    quoter,
  });
}

/** Appends the owner statement to a node. */
export function addOwner(
  ctx: ReadContext,
  node: DumpNode,
  options: { objectType: string; name: string; owner: string },
): void {
  ctx.roles.add(options.owner);
  node.after.push({
    section: node.section,
    kind: "OWNER",
    schema: node.schema,
    name: `${options.objectType} ${node.name}`,
    sql: ownerSql({ ...options, quoter: ctx.quoter }),
  });
}

/** Appends `COMMENT ON <what> IS '…'` to a node when there is a comment. */
export function addComment(
  node: DumpNode,
  options: { what: string; label: string; comment: string | null | undefined },
): void {
  if (options.comment === null || options.comment === undefined) return;
  node.after.push({
    section: node.section,
    kind: "COMMENT",
    schema: node.schema,
    name: options.label,
    sql: `COMMENT ON ${options.what} IS ${quoteLiteral(options.comment)};`,
  });
}

/**
 * Appends GRANT/REVOKE statements turning `base` into `acl`, one statement each (so a restore
 * can skip a grant to a missing role and keep the others).
 */
export function addAcl(
  ctx: ReadContext,
  node: DumpNode,
  options: { acl: string[] | null; base: string[] | null; target: AclTarget; label: string },
): void {
  const { target } = options;
  const created = target.column ? undefined : ctx.createdAcl?.({
    type: target.type,
    schema: target.type === "SCHEMA" ? node.name : node.schema,
    owner: target.owner,
    base: options.base,
  });
  const statements = aclStatements(options.acl, options.base, {
    target,
    quoter: ctx.quoter,
    created,
  });
  if (statements.length === 0) return;
  for (const item of [...(options.acl ?? []), ...(created ?? [])]) {
    const parsed = parseAclItem(item);
    if (parsed.grantee !== "") ctx.roles.add(parsed.grantee);
    ctx.roles.add(parsed.grantor);
  }
  for (const sql of statements) {
    node.acl.push({
      section: "post-data",
      kind: "ACL",
      schema: node.schema,
      name: options.label,
      sql,
    });
  }
}
