/**
 * Builds the standalone page with Deno's own bundler (`deno bundle`, esbuild inside): React,
 * supabase-js and the dashboard in one minified `app.js` beside `index.html`. Nothing is fetched
 * from a CDN when the page runs; the output is made when needed (`deno task dashboard`, the
 * browser tests) and never committed.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const ENTRY = new URL("./standalone/main.tsx", import.meta.url);
const HTML = new URL("./standalone/index.html", import.meta.url);

/** A file URL as a path (spaces and other escapes decoded). */
const path = (url: URL) => decodeURIComponent(url.pathname);

/** Bundles the page into `outDir` (created if missing): `index.html` and `app.js`. */
export async function buildDashboard(outDir: string): Promise<void> {
  await Deno.mkdir(outDir, { recursive: true });
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--config",
      path(new URL("deno.json", ROOT)),
      "--platform",
      "browser",
      "--minify",
      "--output",
      `${outDir}/app.js`,
      path(ENTRY),
    ],
    cwd: path(ROOT),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const why = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`The dashboard could not be bundled: ${why}`);
  }
  await Deno.copyFile(HTML, `${outDir}/index.html`);
}

if (import.meta.main) {
  const outDir = Deno.args[0];
  if (!outDir) {
    console.error("Usage: deno run -A dashboard/build.ts <output folder>");
    Deno.exit(2);
  }
  await buildDashboard(outDir);
  console.log(`Dashboard built into ${outDir}`);
}
