/**
 * The layer check: it passes on the tree as it is, and fails on an import that climbs, goes
 * sideways or reaches an adapter — planted in a copy of the engine.
 */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { checkLayers, whyNot } from "../../../tools/check_layers.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

Deno.test("every import in shared/ goes down the layer order", async () => {
  assert.deepEqual(await checkLayers(ROOT), []);
});

Deno.test("the order refuses imports up, sideways and into adapters, and allows them down", () => {
  assert.match(whyNot("shared/codec/x.ts", "shared/repository/y.ts")!, /codec is below repository/);
  assert.match(whyNot("shared/database/x.ts", "shared/storage/y.ts")!, /database is below storage/);
  assert.match(whyNot("shared/verify/x.ts", "shared/replication/y.ts")!, /siblings/);
  assert.match(whyNot("shared/jobs/x.ts", "cli/main.ts")!, /adapter folder cli/);
  assert.match(whyNot("shared/nowhere/x.ts", "shared/util/y.ts")!, /no place in the layer order/);
  assert.equal(whyNot("shared/storage/x.ts", "shared/database/y.ts"), undefined);
  assert.equal(whyNot("shared/app/x.ts", "shared/steps/y.ts"), undefined);
  assert.equal(whyNot("cli/commands/x.ts", "shared/app/mod.ts"), undefined);
});

Deno.test("a deliberate bad import in a copy of the engine fails the check, naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-layers-" });
  try {
    await cp(`${ROOT}shared`, `${dir}/shared`, { recursive: true });
    const before = await checkLayers(dir);
    const file = `${dir}/shared/repository/repository.ts`;
    await Deno.writeTextFile(
      file,
      `import type { App } from "../app/mod.ts";\n${await Deno.readTextFile(file)}`,
    );
    const violations = await checkLayers(dir);
    assert.equal(violations.length, before.length + 1);
    assert.deepEqual(violations.filter((v) => !before.some((b) => b.file === v.file)), [{
      file: "shared/repository/repository.ts",
      imports: "shared/app/mod.ts",
      why: "repository is below app",
    }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
