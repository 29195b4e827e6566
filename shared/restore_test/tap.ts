/**
 * Reading the TAP that pgTAP's functions return, line by line as rows arrive: the plan, each
 * test's result and its TODO or SKIP directive, the diagnostics that explain a failure, and a
 * bail-out. Indented lines are `runtests()` subtests: their failures explain the top-level
 * test that follows them.
 *
 * @module
 */

/** One top-level test line. */
export interface TapTest {
  /** The number the line gave, or null when it gave none. */
  number: number | null;
  ok: boolean;
  description: string;
  directive: "todo" | "skip" | null;
  /** Diagnostics after a failing line (and its failing subtests), one entry a line. */
  diagnostics: string[];
}

/** What one file's TAP said. */
export interface TapSummary {
  /** The planned count (`1..N`), or null when no plan was seen. */
  plan: number | null;
  tests: TapTest[];
  /** The reason of a `Bail out!`, or null. */
  bailOut: string | null;
}

const PLAN = /^1\.\.(\d+)\b/;
const TEST = /^(not )?ok\b\s*(\d+)?\s*(.*)$/;
const DIRECTIVE = /^(.*?)\s*(?<!\\)#\s*(todo|skip)\b\s*(.*)$/i;
const BAIL_OUT = /^Bail out!\s*(.*)$/i;
/** pgTAP's own lines that repeat what the summary already counts. */
const REPEATED = /^(Looks like you |Failed (\(TODO\) )?test \d+)/;

/** A test line's description and directive (`ok 3 - name # TODO why`). */
export function parseTestLine(line: string): TapTest | undefined {
  const match = TEST.exec(line);
  if (!match) return undefined;
  const rest = match[3].replace(/^-\s*/, "");
  const directive = DIRECTIVE.exec(rest);
  const description = (directive ? directive[1] : rest).replace(/^-\s*/, "").trim();
  return {
    number: match[2] === undefined ? null : Number(match[2]),
    ok: match[1] === undefined,
    description: description.replaceAll("\\#", "#"),
    directive: directive ? directive[2].toLowerCase() as "todo" | "skip" : null,
    diagnostics: [],
  };
}

/** Whether a test counts as failed: `not ok` without a TODO (a TODO may fail). */
export function isFailure(test: TapTest): boolean {
  return !test.ok && test.directive !== "todo";
}

/** Reads one file's TAP output. */
export class TapReader {
  #plan: number | null = null;
  #tests: TapTest[] = [];
  #bailOut: string | null = null;
  /** Where diagnostics go now: the last failing test's, or nowhere. */
  #explaining: string[] | null = null;
  /** Failing subtests' lines, for the top-level test that follows them. */
  #subtests: string[] = [];
  #subtestFailing = false;

  /** Reads one value a pgTAP function returned (it may hold several lines). */
  read(value: string): void {
    for (const line of value.split(/\r?\n/)) this.#readLine(line);
  }

  get bailedOut(): boolean {
    return this.#bailOut !== null;
  }

  summary(): TapSummary {
    return { plan: this.#plan, tests: [...this.#tests], bailOut: this.#bailOut };
  }

  #readLine(raw: string): void {
    if (/^\s+\S/.test(raw)) return this.#readSubtestLine(raw.trim());
    const line = raw.trimEnd();
    const plan = PLAN.exec(line);
    const test = parseTestLine(line);
    const bail = BAIL_OUT.exec(line);
    if (plan) {
      this.#plan ??= Number(plan[1]);
      this.#explaining = null;
    } else if (test) {
      this.#addTest(test);
    } else if (bail) {
      this.#bailOut = bail[1].trim() || "(no reason given)";
      this.#explaining = null;
    } else if (line.startsWith("#")) {
      this.#explain(line);
    }
  }

  #addTest(test: TapTest): void {
    if (!test.ok) test.diagnostics.push(...this.#subtests);
    this.#subtests = [];
    this.#subtestFailing = false;
    this.#tests.push(test);
    this.#explaining = test.ok ? null : test.diagnostics;
  }

  #explain(line: string): void {
    const text = line.replace(/^#\s?/, "").trim();
    if (this.#explaining && text && !REPEATED.test(text)) this.#explaining.push(text);
  }

  #readSubtestLine(line: string): void {
    const test = parseTestLine(line);
    if (test) {
      this.#subtestFailing = isFailure(test);
      if (this.#subtestFailing) this.#subtests.push(`subtest "${test.description}" failed`);
      return;
    }
    const text = line.replace(/^#\s?/, "").trim();
    if (!line.startsWith("#") || REPEATED.test(text) || text.startsWith("Subtest:")) return;
    // A subtest function that died says so outside any failing test line.
    if (text.startsWith("Test died:")) this.#subtestFailing = true;
    if (this.#subtestFailing) this.#subtests.push(text);
  }
}

/**
 * What is wrong with a file's TAP as a whole, as pg_prove judges it: a bail-out, no tests, no
 * plan, or a plan not kept; null when nothing is.
 */
export function planProblem(tap: TapSummary): { description: string; reason: string } | null {
  const ran = tap.tests.length;
  if (tap.bailOut !== null) return { description: "Bail out!", reason: tap.bailOut };
  if (tap.plan === 0) return null; // `1..0`: every test skipped on purpose
  if (ran === 0) {
    const reason = tap.plan === null ? "no tests ran" : `planned ${tap.plan} tests, ran 0`;
    return { description: "the file", reason };
  }
  if (tap.plan === null) {
    const reason = `ran ${ran} tests without a plan (select plan(n), or finish() after no_plan())`;
    return { description: "the plan", reason };
  }
  if (tap.plan !== ran) {
    return { description: "the plan", reason: `planned ${tap.plan} tests, ran ${ran}` };
  }
  return null;
}
