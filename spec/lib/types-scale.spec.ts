// Typed buses at scale: generates a 500-identifier event map with 100 follows and 50 sends (wildcards,
// kwargs, a namespace), type-checks it with tsc in a child process and prints tsc's own figures (check
// time, instantiations, memory): the measure recorded in bench/RESULTS.md. No timing is asserted; the
// file must compile, and its `@ts-expect-error` lines must still fail at this size.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const root = new URL("../..", import.meta.url).pathname;
const IDS = 500;

/** The generated program: `svc<i/10>:act<i%10>`, every fifth with kwargs. */
export function scaleSource(ids: number, index: string): string {
  const key = (i: number): string => `svc${Math.floor(i / 10)}:act${i % 10}`;
  const lines = [`import { Bus, kw } from ${JSON.stringify(index)};`, "type Events = {"];
  for (let i = 0; i < ids; i++) {
    lines.push(
      i % 5 === 0
        ? `  "${key(i)}": { args: [id: string, n: number]; kwargs: { level: number } };`
        : `  "${key(i)}": [id: string, n: number];`,
    );
  }
  lines.push('  "x@layer:entry": [depth: number];', "};", "const bus = new Bus<Events>();");
  for (let j = 0; j < 50; j++) {
    const i = (j * 7) % ids;
    lines.push(`bus.follow("*:act${i % 10}", (m) => m.args[1] + 1);`);
    lines.push(`bus.follow("svc${Math.floor(i / 10)}:*", (m) => m.args[0].length);`);
    lines.push(i % 5 === 0 ? `bus.twitter("${key(i)}", "a", 1, kw({ level: 1 }));` : `bus.twitter("${key(i)}", "a", 1);`);
  }
  lines.push('bus.follow("*:*", (m) => m.id);', 'bus.twitter("*@layer:entry", 2);');
  lines.push("// @ts-expect-error wrong payload", `bus.twitter("${key(1)}", 1, "a");`);
  lines.push("// @ts-expect-error not in the map", 'bus.twitter("svc999:act1", "a", 1);');
  return `${lines.join("\n")}\n`;
}

test(`a ${IDS}-identifier event map type-checks (figures printed)`, () => {
  const dir = mkdtempSync(join(tmpdir(), "berrymq-types-scale-"));
  try {
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }');
    writeFileSync(join(dir, "scale.ts"), scaleSource(IDS, join(root, "lib/index.js")));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: join(root, "tsconfig.json"),
        compilerOptions: { noEmit: true, rootDir: "/", typeRoots: [join(root, "node_modules/@types")] },
        include: [],
        files: [join(dir, "scale.ts")],
      }),
    );
    const result = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json"), "--extendedDiagnostics"], {
      encoding: "utf8",
    });
    assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
    const figures = result.stdout.split("\n").filter((line) => /^(Check time|Total time|Instantiations|Memory used)/.test(line));
    console.log(`${IDS} identifiers: ${figures.map((line) => line.replace(/\s+/g, " ")).join(", ")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
