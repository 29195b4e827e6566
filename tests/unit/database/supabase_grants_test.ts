/**
 * Privileges rendered against what a new Supabase project grants: the statements, replayed on
 * either starting point (the project's ACL or plain `acldefault()`), give the source's ACL,
 * item order included. The replay below follows the server's rules for GRANT and REVOKE on
 * one grantor's items (merge in place, append new, drop emptied ones).
 */
import assert from "node:assert/strict";
import {
  type AclItem,
  aclStatements,
  formatAclItem,
  parseAclItem,
} from "../../../shared/database/catalog/acl.ts";
import { makeQuoter } from "../../../shared/database/catalog/quote.ts";
import {
  isSupabasePlatformRole,
  splitSettingList,
} from "../../../shared/database/catalog/roles.ts";
import {
  supabaseCreatedAcl,
  supabaseDefaultAcl,
} from "../../../shared/database/catalog/supabase_grants.ts";

const quoter = makeQuoter(["select", "user", "table"]);
const LETTERS: Record<string, string> = {
  SELECT: "r",
  INSERT: "a",
  UPDATE: "w",
  DELETE: "d",
  TRUNCATE: "D",
  REFERENCES: "x",
  TRIGGER: "t",
  EXECUTE: "X",
  USAGE: "U",
  CREATE: "C",
};
const ORDER = "arwdDxtXUCTcsAm";

/** Applies our one-grantee GRANT / REVOKE statements to an ACL, as the server would. */
function replay(acl: string[], statements: string[], all: string): string[] {
  const items: AclItem[] = acl.map(parseAclItem);
  for (const statement of statements) {
    const m =
      /^(GRANT|REVOKE) (GRANT OPTION FOR )?(.+?) ON .+ (?:TO|FROM) (\S+?)( WITH GRANT OPTION)?;$/
        .exec(statement);
    assert.ok(m, statement);
    const [, verb, optionOnly, privileges, who, withOption] = m;
    const grantee = who === "PUBLIC" ? "" : who;
    const letters = privileges === "ALL"
      ? [...all]
      : privileges.split(",").map((name) => LETTERS[name]);
    const at = items.findIndex((i) => i.grantee === grantee && i.grantor === "owner");
    const held = new Map<string, boolean>();
    if (at >= 0) {
      const text = items[at].privileges;
      for (let i = 0; i < text.length; i++) {
        const star = text[i + 1] === "*";
        held.set(text[i], star);
        if (star) i++;
      }
    }
    for (const letter of letters) {
      if (verb === "GRANT") held.set(letter, withOption !== undefined || held.get(letter) === true);
      else if (optionOnly && held.has(letter)) held.set(letter, false);
      else if (!optionOnly) held.delete(letter);
    }
    const text = [...ORDER].filter((l) => held.has(l)).map((l) => (held.get(l) ? `${l}*` : l))
      .join("");
    if (at >= 0 && text === "") items.splice(at, 1);
    else if (at >= 0) items[at].privileges = text;
    else if (text !== "") items.push({ grantee, grantor: "owner", privileges: text });
  }
  return items.map(formatAclItem);
}

function both(
  acl: string[] | null,
  options: { type: string; base: string[]; all: string },
): { statements: string[]; onSupabase: string[]; onPlain: string[] } {
  const created = supabaseCreatedAcl({
    type: options.type,
    schema: "public",
    owner: "owner",
    base: options.base,
  });
  assert.ok(created);
  const statements = aclStatements(acl, options.base, {
    target: { type: options.type, name: "public.x", owner: "owner" },
    quoter,
    created,
  });
  return {
    statements,
    onSupabase: replay(created, statements, options.all),
    onPlain: replay(options.base, statements, options.all),
  };
}

Deno.test("a new project's tables, sequences and functions start with the API roles' grants", () => {
  assert.deepEqual(
    supabaseCreatedAcl({
      type: "FUNCTION",
      schema: "public",
      owner: "owner",
      base: ["=X/owner", "owner=X/owner"],
    }),
    ["=X/owner", "owner=X/owner", "anon=X/owner", "authenticated=X/owner", "service_role=X/owner"],
  );
  assert.deepEqual(
    supabaseCreatedAcl({ type: "SCHEMA", schema: "public", owner: "pg_database_owner", base: [] }),
    [
      "postgres=U/pg_database_owner",
      "anon=U/pg_database_owner",
      "authenticated=U/pg_database_owner",
      "service_role=U/pg_database_owner",
    ],
  );
  assert.equal(
    supabaseCreatedAcl({ type: "TABLE", schema: "app", owner: "o", base: ["o=arwdDxt/o"] }),
    undefined,
    "only public has the platform's default privileges",
  );
  assert.equal(
    supabaseCreatedAcl({ type: "TYPE", schema: "public", owner: "o", base: ["o=U/o"] }),
    undefined,
  );
  assert.deepEqual(
    supabaseDefaultAcl({
      role: "postgres",
      schema: "public",
      objectType: "S",
      letters: { r: "arwdDxt", S: "rwU", f: "X" },
    }),
    [
      "postgres=rwU/postgres",
      "anon=rwU/postgres",
      "authenticated=rwU/postgres",
      "service_role=rwU/postgres",
    ],
  );
});

Deno.test("a service-role-only function stays closed to anon and signed-in users", () => {
  const { statements, onSupabase, onPlain } = both(
    ["owner=X/owner", "service_role=X/owner"],
    { type: "FUNCTION", base: ["=X/owner", "owner=X/owner"], all: "X" },
  );
  assert.deepEqual(statements, [
    "REVOKE ALL ON FUNCTION public.x FROM PUBLIC;",
    "REVOKE ALL ON FUNCTION public.x FROM anon;",
    "REVOKE ALL ON FUNCTION public.x FROM authenticated;",
    "GRANT ALL ON FUNCTION public.x TO service_role;",
  ]);
  assert.deepEqual(onSupabase, ["owner=X/owner", "service_role=X/owner"]);
  assert.deepEqual(onPlain, ["owner=X/owner", "service_role=X/owner"]);
});

Deno.test("every shape of a table's ACL lands in the source's order from either start", () => {
  const base = ["owner=arwdDxt/owner"];
  const cases: Array<string[] | null> = [
    null,
    [
      "owner=arwdDxt/owner",
      "anon=arwdDxt/owner",
      "authenticated=arwdDxt/owner",
      "service_role=arwdDxt/owner",
    ],
    ["owner=arwdDxt/owner", "authenticated=arwdDxt/owner", "service_role=arwdDxt/owner"],
    [
      "owner=arwdDxt/owner",
      "anon=r/owner",
      "authenticated=rxt/owner",
      "service_role=arwdDxt/owner",
    ],
    // anon revoked, then granted back: it is last now.
    [
      "owner=arwdDxt/owner",
      "authenticated=arwdDxt/owner",
      "service_role=arwdDxt/owner",
      "anon=r/owner",
    ],
    ["owner=arwdDxt/owner", "anon=r*w/owner", "reporter=r/owner"],
    ["owner=arwdxt/owner", "service_role=arwdDxt/owner", "authenticated=arwdDxt/owner"],
    [],
  ];
  for (const acl of cases) {
    const { onSupabase, onPlain } = both(acl, { type: "TABLE", base, all: "arwdDxt" });
    assert.deepEqual(onSupabase, acl ?? base, `from the project's grants: ${acl}`);
    assert.deepEqual(onPlain, acl ?? base, `from acldefault: ${acl}`);
  }
});

Deno.test("the platform's roles are told from the project's", () => {
  for (const name of ["anon", "authenticated", "authenticator", "service_role", "postgres"]) {
    assert.ok(isSupabasePlatformRole(name), name);
  }
  for (
    const name of ["supabase_admin", "supabase_auth_admin", "cli_login_postgres", "pg_monitor"]
  ) {
    assert.ok(isSupabasePlatformRole(name), name);
  }
  for (const name of ["app_reporter", "postgres2", "my_supabase_role", "anon_reader"]) {
    assert.ok(!isSupabasePlatformRole(name), name);
  }
});

Deno.test("a list setting's stored value splits into its names", () => {
  assert.deepEqual(splitSettingList('"$user", public'), ["$user", "public"]);
  assert.deepEqual(splitSettingList('a, "b, c", "d""e"'), ["a", "b, c", 'd"e']);
  assert.deepEqual(splitSettingList(""), []);
});
