/**
 * No error prints a URL with its credentials: the one redaction helper, and the places URLs
 * reach errors (target URLs, the configuration, the CLI's last line).
 */
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../../shared/config/mod.ts";
import { openTarget } from "../../../shared/targets/open_target.ts";
import { TargetError } from "../../../shared/util/errors.ts";
import { redactUrl } from "../../../shared/util/redact.ts";

const MAIN = new URL("../../../cli/main.ts", import.meta.url).pathname;

Deno.test("credentials are masked in every URL of a text, whatever the scheme", () => {
  const cases: Array<[string, string]> = [
    ["postgres://u:pw@h/db", "postgres://u:***@h/db"],
    [
      "see file://user:secret@host/x and s3://k:s@b/p",
      "see file://user:***@host/x and s3://k:***@b/p",
    ],
    ["file://:secret@localhost/x", "file://:***@localhost/x"],
    ["https://token123@github.com/x", "https://***@github.com/x"],
    ["postgres://u:p@ss/w:rd@h:5432/db failed", "postgres://u:***@h:5432/db failed"],
    ['"postgresql://app:s3cr3t@db.example.test/app"', '"postgresql://app:***@db.example.test/app"'],
    [
      "https://host/path?email=a@b.example and mail a@b",
      "https://host/path?email=a@b.example and mail a@b",
    ],
    ["http://h:8080/x", "http://h:8080/x"],
  ];
  for (const [text, expected] of cases) assert.equal(redactUrl(text), expected, text);
});

Deno.test("a file target URL with credentials is refused without echoing them", () => {
  for (const url of ["file://user:secret@host/x", "file://user:secret@/x", "file://:secret@/x"]) {
    assert.throws(() => openTarget(url), (error: Error) => {
      assert.ok(error instanceof TargetError);
      assert.equal(
        error.message,
        "Target URL must not contain credentials: a file URL names a path",
      );
      return true;
    });
  }
});

Deno.test("a malformed SAUVEGARDE_TARGETS entry is named without its credentials", () => {
  assert.throws(() => loadConfig({ SAUVEGARDE_TARGETS: "file://user:secret@host/x" }), (error) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /entry "file:\/\/user:\*\*\*@host\/x" must look like name=/);
    assert.ok(!error.message.includes("secret"), error.message);
    return true;
  });
});

Deno.test("the CLI's error line never shows a URL's credentials", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases = [
      ["list", "--from", "file://user:secret@host/backups"],
      ["backup", "--db", "postgres://app:secret@127.0.0.1:1/app", "--to", `file://${dir}`],
      ["backup", "--db", "postgres://app:secret@[not-a-host/app", "--to", `file://${dir}`],
    ];
    for (const args of cases) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, ...args],
        env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" },
        clearEnv: true,
        stdin: "null",
      }).output();
      const printed = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.notEqual(out.code, 0, args.join(" "));
      assert.match(printed, /^Error: /m, printed);
      assert.ok(!printed.includes("secret"), `${args.join(" ")} printed: ${printed}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
