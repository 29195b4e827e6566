/**
 * Privileges: aclitem arrays turned into GRANT and REVOKE statements the way pg_dump does it,
 * relative to the object's initial privileges (`pg_init_privs`, else `acldefault()`).
 *
 * @module
 */
import type { Quoter } from "./quote.ts";

/** One parsed aclitem: `grantee=privs/grantor`, an empty grantee meaning PUBLIC. */
export interface AclItem {
  grantee: string;
  grantor: string;
  /** Privilege letters, each maybe followed by `*` (grant option), as the server prints them. */
  privileges: string;
}

function readName(text: string, options: { start: number; stop: string }): [string, number] {
  const { start, stop } = options;
  let i = start;
  if (text[i] !== '"') {
    while (i < text.length && text[i] !== stop) i++;
    return [text.slice(start, i), i];
  }
  let name = "";
  i++;
  for (;;) {
    if (i >= text.length) throw new Error(`Unterminated quoted name in aclitem ${text}`);
    if (text[i] === '"') {
      if (text[i + 1] === '"') {
        name += '"';
        i += 2;
        continue;
      }
      return [name, i + 1];
    }
    name += text[i++];
  }
}

/** An aclitem in the server's text form (names quoted as the server quotes them). */
export function formatAclItem(item: AclItem): string {
  const name = (role: string) =>
    /^[A-Za-z0-9_]*$/.test(role) ? role : `"${role.replaceAll('"', '""')}"`;
  return `${name(item.grantee)}=${item.privileges}/${name(item.grantor)}`;
}

/** Parses the server's text form of an aclitem. */
export function parseAclItem(text: string): AclItem {
  const [grantee, eq] = readName(text, { start: 0, stop: "=" });
  if (text[eq] !== "=") throw new Error(`Malformed aclitem ${text}`);
  const slash = text.indexOf("/", eq);
  if (slash < 0) throw new Error(`Malformed aclitem ${text}`);
  const [grantor] = readName(text, { start: slash + 1, stop: "\0" });
  return { grantee, grantor, privileges: text.slice(eq + 1, slash) };
}

const NAMES: Record<string, string> = {
  r: "SELECT",
  w: "UPDATE",
  a: "INSERT",
  d: "DELETE",
  D: "TRUNCATE",
  x: "REFERENCES",
  t: "TRIGGER",
  X: "EXECUTE",
  U: "USAGE",
  C: "CREATE",
  c: "CONNECT",
  T: "TEMPORARY",
  s: "SET",
  A: "ALTER SYSTEM",
  m: "MAINTAIN",
};

/** Every privilege an object type has, in the server's letter order. */
const ALL: Record<string, string> = {
  TABLE: "arwdDxt",
  SEQUENCE: "rwU",
  FUNCTION: "X",
  PROCEDURE: "X",
  SCHEMA: "UC",
  TYPE: "U",
  DOMAIN: "U",
  LANGUAGE: "U",
  "FOREIGN DATA WRAPPER": "U",
  "FOREIGN SERVER": "U",
  "LARGE OBJECT": "rw",
};

/** The object the statements are about. */
export interface AclTarget {
  /**
   * GRANT's object type: TABLE, SEQUENCE, FUNCTION, PROCEDURE, SCHEMA, TYPE, DOMAIN, LANGUAGE,
   * FOREIGN DATA WRAPPER, FOREIGN SERVER, LARGE OBJECT.
   */
  type: string;
  /** The object as GRANT names it (quoted; functions with their argument types). */
  name: string;
  /** The owner (grants by someone else are replayed as that role). */
  owner: string;
  /** Column name, quoted, for column privileges. */
  column?: string;
}

function split(privileges: string): { plain: string[]; grantable: string[] } {
  const plain: string[] = [];
  const grantable: string[] = [];
  for (let i = 0; i < privileges.length; i++) {
    const letter = privileges[i];
    if (privileges[i + 1] === "*") {
      grantable.push(letter);
      i++;
    } else plain.push(letter);
  }
  return { plain, grantable };
}

/** The order pg_dump lists privileges in. */
const ORDER = "rawdDxtXUCcTsAm";

function privilegeList(letters: string[], target: AclTarget): string {
  const all = ALL[target.type];
  const column = target.column ? `(${target.column})` : "";
  if (all !== undefined && letters.length === all.length && !target.column) return "ALL";
  return [...letters]
    .sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b))
    .map((l) => (NAMES[l] ?? l) + column)
    .join(",");
}

/** For `ALTER DEFAULT PRIVILEGES`: the objects' plural (TABLES, …) and the schema, if any. */
export interface DefaultPrivilegesOf {
  objects: string;
  schema: string | null;
}

/**
 * GRANT and REVOKE statements that turn the initial privileges `base` into `acl`.
 * `acl` null means the object has its default privileges: nothing to do.
 *
 * With `created`, the ACL a destination may give the object instead of `base` (`base` with
 * more grants merged in, as a Supabase project's default privileges do: see
 * `supabase_grants.ts`), the statements turn either into `acl`, item order included: what
 * `created` grants beyond `acl` is revoked, and every item of `acl` that `base` lacks is
 * granted. `acl` null then stands for `base`.
 */
export function aclStatements(
  acl: string[] | null,
  base: string[] | null,
  options: {
    target: AclTarget;
    quoter: Quoter;
    defaults?: DefaultPrivilegesOf;
    created?: string[];
  },
): string[] {
  if (options.created && !options.target.column) {
    return aclStatementsOver(acl ?? base ?? [], base ?? [], {
      ...options,
      created: options.created,
    });
  }
  if (acl === null) return [];
  const { target, quoter, defaults } = options;
  const who = (role: string) => (role === "" ? "PUBLIC" : quoter.ident(role));
  const on = defaults ? defaults.objects : `${target.type} ${target.name}`;
  const prefix = defaults
    ? `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoter.ident(target.owner)}` +
      (defaults.schema === null ? " " : ` IN SCHEMA ${quoter.ident(defaults.schema)} `)
    : "";
  const wrap = (statement: string, grantor: string) =>
    grantor === target.owner || defaults
      ? statement
      : `SET SESSION AUTHORIZATION ${quoter.ident(grantor)};\n${statement}\n` +
        "RESET SESSION AUTHORIZATION;";
  const baseItems = (base ?? []).map(parseAclItem);
  const items = acl.map(parseAclItem);
  const same = (a: AclItem, b: AclItem) =>
    a.grantee === b.grantee && a.grantor === b.grantor && a.privileges === b.privileges;
  const out: string[] = [];
  for (const item of baseItems) {
    if (items.some((other) => same(item, other))) continue;
    const what = target.column ? privilegeList(split(item.privileges).plain, target) : "ALL";
    out.push(wrap(`${prefix}REVOKE ${what} ON ${on} FROM ${who(item.grantee)};`, item.grantor));
  }
  for (const item of items) {
    if (baseItems.some((other) => same(item, other))) continue;
    const { plain, grantable } = split(item.privileges);
    const to = `ON ${on} TO ${who(item.grantee)}`;
    if (plain.length > 0) {
      out.push(wrap(`${prefix}GRANT ${privilegeList(plain, target)} ${to};`, item.grantor));
    }
    if (grantable.length > 0) {
      out.push(
        wrap(
          `${prefix}GRANT ${privilegeList(grantable, target)} ${to} WITH GRANT OPTION;`,
          item.grantor,
        ),
      );
    }
  }
  return out;
}

/** What {@link aclStatements} writes with: the statement prefix, the object and the grantor. */
function writer(options: { target: AclTarget; quoter: Quoter; defaults?: DefaultPrivilegesOf }) {
  const { target, quoter, defaults } = options;
  const who = (role: string) => (role === "" ? "PUBLIC" : quoter.ident(role));
  const on = defaults ? defaults.objects : `${target.type} ${target.name}`;
  const prefix = defaults
    ? `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoter.ident(target.owner)}` +
      (defaults.schema === null ? " " : ` IN SCHEMA ${quoter.ident(defaults.schema)} `)
    : "";
  const wrap = (statement: string, grantor: string) =>
    grantor === target.owner || defaults
      ? statement
      : `SET SESSION AUTHORIZATION ${quoter.ident(grantor)};\n${statement}\n` +
        "RESET SESSION AUTHORIZATION;";
  return {
    revoke: (what: string, item: AclItem) =>
      wrap(`${prefix}REVOKE ${what} ON ${on} FROM ${who(item.grantee)};`, item.grantor),
    grant: (item: AclItem): string[] => {
      const { plain, grantable } = split(item.privileges);
      const to = `ON ${on} TO ${who(item.grantee)}`;
      const out: string[] = [];
      if (plain.length > 0) {
        out.push(wrap(`${prefix}GRANT ${privilegeList(plain, target)} ${to};`, item.grantor));
      }
      if (grantable.length > 0) {
        out.push(wrap(
          `${prefix}GRANT ${privilegeList(grantable, target)} ${to} WITH GRANT OPTION;`,
          item.grantor,
        ));
      }
      return out;
    },
  };
}

/**
 * {@link aclStatements} against two possible starting points, `base` and `created` (which
 * holds `base`'s items in the same order, some with more privileges, and more items).
 *
 * The longest run of `acl`'s first items that `created` holds in the same order stays where
 * it is: their privileges beyond `acl`'s are revoked one by one (a REVOKE ALL and a GRANT
 * would move the item to the end). Every other item of `created` is revoked whole, and the
 * rest of `acl` granted after, in order. Where an object starts from `base`, revoking what it
 * lacks does nothing, and the grants land in the same order.
 */
function aclStatementsOver(
  acl: readonly string[],
  base: readonly string[],
  options: {
    target: AclTarget;
    quoter: Quoter;
    defaults?: DefaultPrivilegesOf;
    created: readonly string[];
  },
): string[] {
  const { target } = options;
  const write = writer(options);
  const key = (item: AclItem) => `${item.grantee}\0${item.grantor}`;
  const items = acl.map(parseAclItem);
  const baseItems = base.map(parseAclItem);
  const createdItems = options.created.map(parseAclItem);
  const createdAt = new Map(createdItems.map((item, index) => [key(item), index]));
  let inPlace = 0;
  for (let last = -1; inPlace < items.length; inPlace++) {
    const index = createdAt.get(key(items[inPlace]));
    if (index === undefined || index <= last) break;
    last = index;
  }
  const kept = new Map(items.slice(0, inPlace).map((item) => [key(item), item]));
  const out: string[] = [];
  for (const item of createdItems) {
    const wanted = kept.get(key(item));
    if (!wanted) {
      out.push(write.revoke("ALL", item));
      continue;
    }
    const has = split(item.privileges);
    const want = split(wanted.privileges);
    const keep = new Set([...want.plain, ...want.grantable]);
    const extra = [...has.plain, ...has.grantable].filter((letter) => !keep.has(letter));
    if (extra.length > 0) out.push(write.revoke(privilegeList(extra, target), item));
    const option = has.grantable.filter((letter) => want.plain.includes(letter));
    if (option.length > 0) {
      out.push(write.revoke(`GRANT OPTION FOR ${privilegeList(option, target)}`, item));
    }
  }
  const same = (a: AclItem, b: AclItem) =>
    a.grantee === b.grantee && a.grantor === b.grantor && a.privileges === b.privileges;
  for (const [index, item] of items.entries()) {
    if (index < inPlace && baseItems.some((other) => same(other, item))) continue;
    out.push(...write.grant(item));
  }
  return out;
}
