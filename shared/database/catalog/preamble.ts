/**
 * The session settings a restore runs with (pg_dump's preamble): no timeouts, standard
 * strings, an empty search_path (every generated name is qualified), function bodies not
 * checked at creation, and row security off.
 *
 * @module
 */
import type { SchemaStatement, Section } from "./model.ts";

/** The settings, one per line. */
export const RESTORE_SETTINGS: string = [
  "SET statement_timeout = 0;",
  "SET lock_timeout = 0;",
  "SET idle_in_transaction_session_timeout = 0;",
  "SET client_encoding = 'UTF8';",
  "SET standard_conforming_strings = on;",
  "SELECT pg_catalog.set_config('search_path', '', false);",
  "SET check_function_bodies = false;",
  "SET xmloption = content;",
  "SET client_min_messages = warning;",
  "SET row_security = off;",
  "SET default_tablespace = '';",
  "SET default_table_access_method = heap;",
].join("\n");

/** The `SET` statement that opens a section. */
export function settingsStatement(section: Section): SchemaStatement {
  return { section, kind: "SET", schema: null, name: "settings", sql: RESTORE_SETTINGS };
}
