// Every ```ts block of README.md is written to .build/readme/, type-checked with the project's compiler
// options and run in its own process: an example that fails to compile, throws or hangs fails here.
// `from "berrymq"` (and its subpaths) is pointed at the sources, as the package's exports map points at dist/.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type RedisServer, startRedis } from "./helpers/redis-server.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const dir = join(root, ".build", "readme");
const SUBPATHS: Record<string, string> = {
  berrymq: "lib/index.js",
  "berrymq/bridges": "bridges/index.js",
  "berrymq/jsonrpc": "bridges/jsonrpc/index.js",
  "berrymq/redis": "bridges/redis/index.js",
  "berrymq/zeromq": "bridges/zeromq/index.js",
};

/** The README's TypeScript blocks, each with the line it starts on. */
function examples(): { line: number; code: string }[] {
  const lines = readFileSync(join(root, "README.md"), "utf8").split("\n");
  const found: { line: number; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== "```ts") continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]?.trim() !== "```") end++;
    found.push({ line: start + 1, code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return found;
}

function pointAtSources(code: string): string {
  return code.replace(/from "(berrymq(?:\/\w+)?)"/g, (whole, specifier: string) => {
    const target = SUBPATHS[specifier];
    return target === undefined ? whole : `from "../../${target}"`;
  });
}

describe("README examples", () => {
  const blocks = examples();
  const files = blocks.map((block) => join(dir, `example-line-${block.line}.ts`));
  // Examples of berrymq/redis read REDIS_URL: they get a redis-server of their own, as every spec does.
  let redis: RedisServer | undefined;

  before(async () => {
    if (blocks.some((block) => block.code.includes('"berrymq/redis"'))) redis = await startRedis();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [i, block] of blocks.entries()) writeFileSync(files[i] as string, `${pointAtSources(block.code)}\nexport {};\n`);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ extends: "../../tsconfig.json", compilerOptions: { noEmit: true, rootDir: "../.." }, include: ["*.ts"], exclude: [] }),
    );
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await redis?.stop();
  });

  it("has examples", () => {
    assert.ok(blocks.length >= 8, `found ${blocks.length} \`\`\`ts blocks`);
  });

  it("type-check with the project's strict settings", async () => {
    await run(join(root, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json")], { cwd: root }).catch(
      (error: { stdout?: string }) => assert.fail(`README examples do not compile:\n${error.stdout ?? String(error)}`),
    );
  });

  blocks.forEach((block, i) => {
    it(`the example at README.md line ${block.line} runs and exits by itself`, async () => {
      const { stderr } = await run(process.execPath, ["--import", "tsx", files[i] as string], {
        cwd: root,
        timeout: 30_000,
        env: { ...process.env, NODE_NO_WARNINGS: "1", ...(redis === undefined ? {} : { REDIS_URL: redis.url }) },
      }).catch((error: { stderr?: string; killed?: boolean }) =>
        assert.fail(`example at line ${block.line} ${error.killed ? "hung (killed after 30 s)" : "failed"}:\n${error.stderr ?? String(error)}`),
      );
      assert.equal(stderr, "", `example at line ${block.line} wrote to stderr`);
    });
  });
});
