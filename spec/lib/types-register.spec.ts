// Typing the default bus by module augmentation (`interface Register { events }`): compiled in a child
// tsc, since the augmentation would type the default bus of every other spec too. The program's
// `@ts-expect-error` lines must fail and the rest compile.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "node:test";

const root = new URL("../..", import.meta.url).pathname;

function program(index: string): string {
  return `import { defaultBus, followingFunction, kw, talk, twitter, Queue, within } from ${JSON.stringify(index)};

declare module ${JSON.stringify(index)} {
  interface Register {
    events: {
      "temp:read": [celsius: number];
      "calc:add": [a: number, b: number];
      "calc:sum": [sum: number];
      "app:log": { args: [text: string]; kwargs: { level: number } };
    };
  }
}

twitter("temp:read", 21.5);
twitter("app:log", "disk full", kw({ level: 3 }));
// @ts-expect-error wrong payload on the default bus
twitter("temp:read", "hot");
// @ts-expect-error not in the registered map
twitter("temp:write", 1);
followingFunction("*:read", (m) => m.args[0].toFixed(1));
// @ts-expect-error a follower of temp:read does not get a string
followingFunction("temp:read", (m: { args: readonly [string] }) => m);
const sums: Promise<number[]> = talk("calc:add", "calc:sum", 1, 2);
void sums;
const everywhere: Promise<number[]> = talk("calc:add", "calc:sum", 1, 2, within({ timeout: 300 }));
void everywhere;
void defaultBus.ask("calc:add", 1, 2, within({ timeout: 300 }));
// @ts-expect-error calc:add takes numbers, on the default bus too
void defaultBus.request("calc:add", "1", 2);
defaultBus.follow("app:log", (m) => m.kwargs.level + 1);
new Queue("temp:*", { bus: defaultBus }).close();
`;
}

test("declaring Register.events types defaultBus and the module-level functions", () => {
  const dir = mkdtempSync(join(tmpdir(), "berrymq-register-"));
  try {
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }');
    const index = relative(dir, join(root, "lib/index.js"));
    writeFileSync(join(dir, "registered.ts"), program(index.startsWith(".") ? index : `./${index}`));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: join(root, "tsconfig.json"),
        compilerOptions: { noEmit: true, rootDir: "/", typeRoots: [join(root, "node_modules/@types")] },
        include: [],
        files: [join(dir, "registered.ts")],
      }),
    );
    const result = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
    assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
