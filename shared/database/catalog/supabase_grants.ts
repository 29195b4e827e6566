/**
 * What a new Supabase project grants before the project's own migrations run, so that the
 * privileges a restore renders land on the source's ACLs there, not only on PostgreSQL's
 * `acldefault()`.
 *
 * A project's initial schema grants USAGE on `public` to postgres, anon, authenticated and
 * service_role, and sets default privileges for the roles postgres and supabase_admin in
 * `public`: ALL on new tables (views and every other relation included), sequences and
 * functions to postgres, anon, authenticated and service_role. A restore runs as postgres, so
 * every table, sequence and function it creates in `public` starts with those grants (then
 * moves to its owner, as `ALTER … OWNER` does with an ACL), and the project's own revokes
 * (a function only service_role may call) have to be replayed against them, or they come
 * back. The restore applies the source's default privileges last, against the project's.
 *
 * @module
 */
import { type AclItem, formatAclItem, parseAclItem } from "./acl.ts";
import type { Queryable } from "./db.ts";

/** The role a restore into a Supabase project runs as (whose default privileges apply). */
export const SUPABASE_RESTORING_ROLE = "postgres";

/** The roles a new project's default privileges and schema grants name, in their order. */
export const SUPABASE_GRANTEES: readonly string[] = [
  "postgres",
  "anon",
  "authenticated",
  "service_role",
];

/** One of the platform's `pg_default_acl` entries. */
export interface PlatformDefaultAcl {
  role: string;
  /** The schema, or null for a global entry. */
  schema: string | null;
  /** pg_default_acl.defaclobjtype: `r` tables, `S` sequences, `f` functions. */
  objectType: "r" | "S" | "f";
  grantees: readonly string[];
}

/** The default privileges of a new project. */
export const SUPABASE_DEFAULT_ACLS: readonly PlatformDefaultAcl[] = ["postgres", "supabase_admin"]
  .flatMap((role) =>
    (["r", "S", "f"] as const).map((objectType) => ({
      role,
      schema: "public",
      objectType,
      grantees: SUPABASE_GRANTEES,
    }))
  );

/** Schemas that exist before a restore, and the privileges the platform grants on them. */
export const SUPABASE_SCHEMA_GRANTS: Readonly<Record<string, { grantees: readonly string[] }>> = {
  public: { grantees: SUPABASE_GRANTEES },
};

/** Every privilege of tables, sequences and functions, as the server spells them. */
export interface PrivilegeLetters {
  r: string;
  S: string;
  f: string;
}

/** The server's letters for ALL on tables, sequences and functions (MAINTAIN from 17 on). */
export async function queryPrivilegeLetters(sql: Queryable): Promise<PrivilegeLetters> {
  const [row] = await sql<PrivilegeLetters[]>`
    select (select split_part(split_part(a::text, '=', 2), '/', 1)
        from unnest(acldefault('r'::"char", 10::oid)) a where a::text not like '=%') as "r",
      (select split_part(split_part(a::text, '=', 2), '/', 1)
        from unnest(acldefault('s'::"char", 10::oid)) a where a::text not like '=%') as "S",
      (select split_part(split_part(a::text, '=', 2), '/', 1)
        from unnest(acldefault('f'::"char", 10::oid)) a where a::text not like '=%') as "f"`;
  return row;
}

/** The server's order of privilege letters in an aclitem. */
const LETTER_ORDER = "arwdDxtXUCTcsAm";

/** Adds `privileges` (letters, maybe with `*`) to an item's, in the server's order. */
function mergePrivileges(a: string, b: string): string {
  const plain = new Set<string>();
  const grantable = new Set<string>();
  for (const text of [a, b]) {
    for (let i = 0; i < text.length; i++) {
      if (text[i + 1] === "*") {
        grantable.add(text[i]);
        i++;
      } else plain.add(text[i]);
    }
  }
  return [...LETTER_ORDER].filter((l) => plain.has(l) || grantable.has(l))
    .map((l) => (grantable.has(l) ? `${l}*` : l)).join("");
}

/** `aclupdate`'s merge: an item for the same grantee and grantor gains the privileges. */
function addItem(items: AclItem[], item: AclItem): void {
  const same = items.find((i) => i.grantee === item.grantee && i.grantor === item.grantor);
  if (same) same.privileges = mergePrivileges(same.privileges, item.privileges);
  else items.push({ ...item });
}

const DEFAULT_ACL_TYPE: Record<string, "r" | "S" | "f"> = {
  TABLE: "r",
  SEQUENCE: "S",
  FUNCTION: "f",
  PROCEDURE: "f",
};

/**
 * The ACL an object has in a new Supabase project once a restore has created it (or, for the
 * `public` schema, before anything runs), when that differs from `base` (the object's
 * `acldefault()`): `base` with the platform's grants merged in, in the server's order, so the
 * items `base` has come first. Undefined when the platform adds nothing.
 */
export function supabaseCreatedAcl(
  options: {
    /** GRANT's object type (TABLE for every relation but sequences). */
    type: string;
    /** The object's schema; for a schema, its own name. */
    schema: string | null;
    owner: string;
    base: readonly string[] | null;
  },
): string[] | undefined {
  const { type, schema, owner } = options;
  if (schema === null || options.base === null) return undefined;
  const items = options.base.map(parseAclItem);
  if (type === "SCHEMA") {
    const grants = SUPABASE_SCHEMA_GRANTS[schema];
    if (!grants) return undefined;
    for (const grantee of grants.grantees) {
      addItem(items, { grantee, grantor: owner, privileges: "U" });
    }
    return items.map(formatAclItem);
  }
  const objectType = DEFAULT_ACL_TYPE[type];
  if (!objectType) return undefined;
  const entry = SUPABASE_DEFAULT_ACLS.find((d) =>
    d.role === SUPABASE_RESTORING_ROLE && d.schema === schema && d.objectType === objectType
  );
  if (!entry) return undefined;
  // All of the object's privileges: those its owner has by default.
  const all = items.find((i) => i.grantee === owner && i.grantor === owner)?.privileges;
  if (!all) return undefined;
  for (const grantee of entry.grantees) {
    // Created by the restoring role and then handed to the owner: the ACL follows the owner.
    const who = grantee === SUPABASE_RESTORING_ROLE ? owner : grantee;
    addItem(items, { grantee: who, grantor: owner, privileges: all.replaceAll("*", "") });
  }
  return items.map(formatAclItem);
}

/** The platform's `pg_default_acl` entry for a role, schema and object type, as aclitems. */
export function supabaseDefaultAcl(
  options: { role: string; schema: string | null; objectType: string; letters: PrivilegeLetters },
): string[] | undefined {
  const entry = SUPABASE_DEFAULT_ACLS.find((d) =>
    d.role === options.role && d.schema === options.schema && d.objectType === options.objectType
  );
  if (!entry) return undefined;
  const privileges = options.letters[entry.objectType];
  return entry.grantees.map((grantee) =>
    formatAclItem({ grantee, grantor: options.role, privileges })
  );
}
