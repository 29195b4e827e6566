/**
 * A project's SQL test file cut into the statements psql would send, without psql: quotes,
 * E'' escapes, double-quoted identifiers, dollar quotes, nested comments, parentheses and
 * `BEGIN ATOMIC` routine bodies keep their semicolons; psql's backslash commands are set apart.
 * Then the parts a test file may hold that the engine must not send itself: the file's own
 * transaction control (the engine wraps every file in a transaction it rolls back) and psql
 * settings, while `\i` and inline `COPY … FROM stdin` data, which need psql, are refused.
 *
 * @module
 */

/** One piece of a script: an SQL statement (without its `;`) or a psql backslash command. */
export interface ScriptPart {
  kind: "sql" | "meta";
  text: string;
  /** 1-based line where it starts. */
  line: number;
  /** Its first words outside quotes and comments, lowercased (sql only; at most four). */
  keywords: string[];
}

/** A file that cannot be run without psql (it includes another file, or inlines COPY data). */
export class ScriptRefusedError extends Error {
  constructor(readonly part: ScriptPart, readonly why: string) {
    super(`${why} (line ${part.line}: ${part.text.slice(0, 80)})`);
    this.name = "ScriptRefusedError";
  }
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const KEYWORDS_KEPT = 4;

/** Index just past the quoted text opened at `i`; `backslashes` for E'' strings. */
function endOfQuoted(text: string, i: number, quote: string, backslashes: boolean): number {
  let j = i + 1;
  while (j < text.length) {
    const c = text[j];
    if (backslashes && c === "\\") {
      j += 2;
    } else if (c !== quote) {
      j++;
    } else if (text[j + 1] === quote) {
      j += 2; // '' or "" stands for one quote
    } else {
      return j + 1;
    }
  }
  return text.length;
}

/** Index just past the `/* … *\/` comment opened at `i` (comments nest in PostgreSQL). */
function endOfBlockComment(text: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < text.length) {
    if (text.startsWith("/*", j)) {
      depth++;
      j += 2;
    } else if (text.startsWith("*/", j)) {
      depth--;
      j += 2;
      if (depth === 0) return j;
    } else {
      j++;
    }
  }
  return text.length;
}

function endOfLine(text: string, i: number): number {
  const newline = text.indexOf("\n", i);
  return newline < 0 ? text.length : newline;
}

/** The dollar-quote tag (`$$`, `$body$`) at `i`, or undefined. */
function dollarTagAt(text: string, i: number): string | undefined {
  if (i > 0 && WORD_CHAR.test(text[i - 1])) return undefined; // `a$b$` is an identifier
  DOLLAR_TAG.lastIndex = i;
  return DOLLAR_TAG.exec(text)?.[0];
}

/** Whether the quote at `i` opens an E'' string (backslash escapes), not `name'…`. */
function opensEscapeString(text: string, i: number): boolean {
  const before = text[i - 1];
  return (before === "E" || before === "e") && !(i > 1 && WORD_CHAR.test(text[i - 2]));
}

/** Line numbers of offsets in one text. */
function lineFinder(text: string): (offset: number) => number {
  const newlines: number[] = [];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) newlines.push(i);
  return (offset) => {
    let low = 0;
    let high = newlines.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (newlines[mid] < offset) low = mid + 1;
      else high = mid;
    }
    return low + 1;
  };
}

/** Whether a statement's first words create a routine whose body may be `BEGIN ATOMIC … END`. */
function createsRoutine(keywords: readonly string[]): boolean {
  const [first, second, third, fourth] = keywords;
  const kind = second === "or" && third === "replace" ? fourth : second;
  return first === "create" && (kind === "function" || kind === "procedure");
}

/** psql's commands that send the query buffer, ending the statement as `;` does. */
const SENDS_BUFFER = /^\\g(x|set)?\b/;

/** Cuts `text` into statements and backslash commands, in order. */
export function splitScript(text: string): ScriptPart[] {
  const lineOf = lineFinder(text);
  const parts: ScriptPart[] = [];
  let start = -1;
  let parens = 0;
  let blocks = 0;
  let keywords: string[] = [];
  const flush = (end: number) => {
    if (start >= 0) {
      parts.push({
        kind: "sql",
        text: text.slice(start, end).trim(),
        line: lineOf(start),
        keywords,
      });
    }
    start = -1;
    parens = 0;
    blocks = 0;
    keywords = [];
  };
  const word = (value: string) => {
    if (keywords.length < KEYWORDS_KEPT) keywords.push(value);
    if (!createsRoutine(keywords)) return;
    // As psql does: BEGIN … END nest in a routine body, and so does CASE … END inside one.
    if (value === "begin" || (value === "case" && blocks > 0)) blocks++;
    else if (value === "end" && blocks > 0) blocks--;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (text.startsWith("--", i)) {
      i = endOfLine(text, i);
    } else if (text.startsWith("/*", i)) {
      i = endOfBlockComment(text, i);
    } else if (c === "\\") {
      const end = endOfLine(text, i);
      const command = text.slice(i, end).trim();
      if (SENDS_BUFFER.test(command)) flush(i);
      parts.push({ kind: "meta", text: command, line: lineOf(i), keywords: [] });
      i = end;
    } else if (startsWord(text, i)) {
      if (start < 0) start = i;
      const end = endOfWord(text, i);
      word(text.slice(i, end).toLowerCase());
      i = end;
    } else {
      if (start < 0) start = i;
      i = endOfToken(text, i);
      if (c === "(") parens++;
      else if (c === ")") parens = Math.max(0, parens - 1);
      else if (c === ";" && parens === 0 && blocks === 0) flush(i - 1);
    }
  }
  flush(text.length);
  return parts.filter((part) => part.kind === "meta" || part.text !== "");
}

function startsWord(text: string, i: number): boolean {
  return WORD_START.test(text[i]) && !(i > 0 && WORD_CHAR.test(text[i - 1]));
}

function endOfWord(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && WORD_CHAR.test(text[j])) j++;
  return j;
}

/** Index just past the token at `i` (not a word): a quoted text, or one character. */
function endOfToken(text: string, i: number): number {
  const c = text[i];
  if (c === "'") return endOfQuoted(text, i, "'", opensEscapeString(text, i));
  if (c === '"') return endOfQuoted(text, i, '"', false);
  const tag = c === "$" ? dollarTagAt(text, i) : undefined;
  if (!tag) return i + 1;
  const close = text.indexOf(tag, i + tag.length);
  return close < 0 ? text.length : close + tag.length;
}

/** psql's commands that read another file. */
const INCLUDES = /^\\(i|ir|include|include_relative)\b/;

/** Whether a statement is the file's own transaction control (savepoints are kept). */
export function isTransactionControl(part: ScriptPart): boolean {
  const [first, second, third] = part.keywords;
  switch (first) {
    case "begin":
    case "end":
    case "abort":
      return true;
    case "start":
      return second === "transaction";
    case "commit":
      return second !== "prepared";
    case "rollback":
      // ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] x undoes part of the file: it is kept.
      return second !== "prepared" && second !== "to" && third !== "to";
    default:
      return false;
  }
}

/**
 * The statements of a test file the engine sends, in order: its transaction control and
 * psql's commands (`\set`, `\pset`, …) left out. Throws {@link ScriptRefusedError} for a file
 * that includes another (`\i`, `\ir`) or inlines COPY data, which only psql can feed.
 */
export function testStatements(text: string): ScriptPart[] {
  const statements: ScriptPart[] = [];
  for (const part of splitScript(text)) {
    if (part.kind === "meta") {
      if (INCLUDES.test(part.text)) {
        throw new ScriptRefusedError(part, "it includes another file, which is not loaded here");
      }
      if (part.text.startsWith("\\gexec")) {
        throw new ScriptRefusedError(part, "\\gexec needs psql");
      }
    } else if (part.keywords[0] === "copy" && /\bfrom\s+stdin\b/i.test(part.text)) {
      throw new ScriptRefusedError(part, "COPY … FROM stdin needs psql to send the data");
    } else if (!isTransactionControl(part)) {
      statements.push(part);
    }
  }
  return statements;
}
