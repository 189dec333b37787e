// The type-level tests of typed buses in the other decorator mode: `npm test` type-checks
// types-typed.check.ts with standard decorators; this compiles it again with experimentalDecorators,
// so every `@ts-expect-error` on a typed `@following` is proven in both modes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const root = new URL("../..", import.meta.url).pathname;

test("typed @following type-checks with experimentalDecorators too", () => {
  const dir = mkdtempSync(join(tmpdir(), "berrymq-types-"));
  try {
    const config = join(dir, "tsconfig.json");
    writeFileSync(
      config,
      JSON.stringify({
        extends: join(root, "tsconfig.json"),
        compilerOptions: {
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          noEmit: true,
          typeRoots: [join(root, "node_modules/@types")],
        },
        include: [],
        files: [join(root, "spec/lib/types-typed.check.ts")],
      }),
    );
    const result = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", config], { encoding: "utf8" });
    assert.equal(result.status, 0, `tsc with experimentalDecorators failed:\n${result.stdout}${result.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
