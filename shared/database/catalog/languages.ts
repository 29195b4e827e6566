/**
 * Procedural languages created by the user (`CREATE [TRUSTED] PROCEDURAL LANGUAGE … HANDLER …
 * INLINE … VALIDATOR …`), with owner, comment and, for trusted ones, USAGE privileges.
 * Languages of extensions (plpgsql, plpython3u, …) come with their extension; only the
 * privileges granted on them since are dumped, as pg_dump does (`REVOKE USAGE ON LANGUAGE
 * plpgsql FROM PUBLIC` is a common hardening step).
 *
 * The handler functions are always named: pg_dump writes a bare `CREATE OR REPLACE PROCEDURAL
 * LANGUAGE x` when they are not dumped themselves (a language built on plpgsql's handlers in
 * pg_catalog), which no PostgreSQL since 13 can restore.
 *
 * @module
 */
import { addAcl, addComment, addOwner, type ReadContext } from "./context.ts";
import { addMemberAclNode, type FunctionName } from "./database_objects.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";

/** A row of {@link queryLanguages}. */
export interface LanguageRow {
  oid: string;
  name: string;
  trusted: boolean;
  owner: string;
  /** Created after initdb (the built-in ones never are dumped). */
  userCreated: boolean;
  handler: FunctionName;
  inline: FunctionName | null;
  validator: FunctionName | null;
  acl: string[] | null;
  base: string[] | null;
  comment: string | null;
}

/** Every procedural language of the database (not internal, c or sql). */
export function queryLanguages(sql: Queryable): Promise<LanguageRow[]> {
  return sql<LanguageRow[]>`
    with fn as (
      select p.oid, json_build_object('schema', n.nspname, 'name', p.proname) as name
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    )
    select l.oid::text as oid, l.lanname as name, l.lanpltrusted as trusted,
      pg_get_userbyid(l.lanowner) as owner, l.oid >= 16384 as "userCreated",
      (select fn.name from fn where fn.oid = l.lanplcallfoid) as handler,
      (select fn.name from fn where fn.oid = l.laninline) as inline,
      (select fn.name from fn where fn.oid = l.lanvalidator) as validator,
      l.lanacl::text[] as acl,
      coalesce(ip.initprivs, acldefault('l', l.lanowner))::text[] as base,
      (select ds.description from pg_description ds where ds.objoid = l.oid
        and ds.classoid = 'pg_language'::regclass and ds.objsubid = 0) as comment
    from pg_language l
    left join pg_init_privs ip on ip.classoid = 'pg_language'::regclass
      and ip.objoid = l.oid and ip.objsubid = 0
    where l.lanispl
    order by l.lanname`;
}

/** Adds the user's languages, and privilege changes on extensions' languages. */
export function buildLanguages(
  ctx: ReadContext,
  rows: LanguageRow[],
  options: { everything: boolean },
): void {
  if (!options.everything || ctx.filter.tablesRestricted) return;
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_language", row.oid);
    const name = q.ident(row.name);
    const label = `LANGUAGE ${row.name}`;
    // GRANT and REVOKE are refused on untrusted languages (only superusers use them).
    const acl = (node: Parameters<typeof addAcl>[1] | undefined) => {
      if (!row.trusted || node === undefined) return;
      addAcl(ctx, node, {
        acl: row.acl,
        base: row.base,
        target: { type: "LANGUAGE", name, owner: row.owner },
        label,
      });
    };
    if (ctx.members.has(id)) {
      acl(addMemberAclNode(ctx, {
        catalog: "pg_language",
        oid: row.oid,
        kind: "PROCEDURAL LANGUAGE",
        name: row.name,
        priority: PRIORITY.language,
      }));
      continue;
    }
    if (!row.userCreated || row.handler === null) continue;
    let sql = `CREATE ${row.trusted ? "TRUSTED " : ""}PROCEDURAL LANGUAGE ${name}` +
      ` HANDLER ${q.qualified(row.handler.schema, row.handler.name)}`;
    if (row.inline) sql += ` INLINE ${q.qualified(row.inline.schema, row.inline.name)}`;
    if (row.validator) {
      sql += ` VALIDATOR ${q.qualified(row.validator.schema, row.validator.name)}`;
    }
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "PROCEDURAL LANGUAGE",
      schema: null,
      name: row.name,
      sql: sql + ";",
      priority: PRIORITY.language,
    });
    addOwner(ctx, node, { objectType: "LANGUAGE", name, owner: row.owner });
    addComment(node, { what: `LANGUAGE ${name}`, label, comment: row.comment });
    acl(node);
  }
}
