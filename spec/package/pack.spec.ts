// The package as a user gets it: `npm pack`, install the tarball into a temporary project with the core
// only (offline: its dependencies are packed from this repository's node_modules), then compile and run
// a TypeScript program in both decorator modes and through tsx, run a CommonJS consumer, and check the
// tarball with publint and @arethetypeswrong/cli.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

const root = new URL("../..", import.meta.url).pathname;
const fixtures = new URL("./fixtures/", import.meta.url).pathname;
const bin = (name: string): string => join(root, "node_modules/.bin", name);
// @standard-schema/spec is types only (a few KiB): typed schema maps need it at compile time.
const CORE_DEPENDENCIES = ["@standard-schema/spec", "eventemitter3", "json-rpc-2.0", "reflect-metadata"];

let work = "";
let tarball = "";
let app = "";

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 180_000 });
  assert.equal(result.status, 0, `${command} ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function npm(args: string[], cwd: string): string {
  return run("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], cwd);
}

function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((total, entry) => total + sizeOf(join(path, entry)), 0);
}

describe("the packed package, installed with the core only", () => {
  before(() => {
    work = mkdtempSync(join(tmpdir(), "berrymq-pack-"));
    tarball = join(work, npm(["pack", "--pack-destination", work], root).trim().split("\n").at(-1) as string);
    const packed = CORE_DEPENDENCIES.map((name) => join(work, npm(["pack", "--pack-destination", work, join(root, "node_modules", name)], work).trim().split("\n").at(-1) as string));
    app = join(work, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    npm(
      ["install", "--offline", tarball, ...packed, ...["typescript", "tsx", "@types/node"].map((name) => join(root, "node_modules", name))],
      app,
    );
    // The program is kept as .ts.txt: it imports "berrymq" as a user does, which this repository's own
    // type-check could only resolve after a build.
    copyFileSync(join(fixtures, "consumer.ts.txt"), join(app, "consumer.ts"));
    copyFileSync(join(fixtures, "consumer.cjs"), join(app, "consumer.cjs"));
  });

  after(() => {
    if (work !== "") rmSync(work, { recursive: true, force: true });
  });

  it("ships LICENSE, README and dist, not sources or specs; installs neither zeromq nor ioredis", () => {
    const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n");
    for (const file of ["package/LICENSE", "package/README.md", "package/package.json", "package/dist/lib/index.js", "package/dist/lib/index.d.ts"]) {
      assert.ok(listing.includes(file), `${file} in the tarball`);
    }
    assert.ok(!listing.some((file) => file.startsWith("package/spec/") || file.startsWith("package/lib/")), "no specs or sources");
    assert.match(readFileSync(join(app, "node_modules/berrymq/LICENSE"), "utf8"), /^MIT License/);
    for (const peer of ["zeromq", "ioredis"]) assert.equal(existsSync(join(app, "node_modules", peer)), false, `${peer} not installed`);
    const manifest = JSON.parse(readFileSync(join(app, "node_modules/berrymq/package.json"), "utf8")) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(manifest.dependencies ?? {}).sort(), CORE_DEPENDENCIES);
    assert.deepEqual(manifest.peerDependenciesMeta, { ioredis: { optional: true }, msgpackr: { optional: true }, zeromq: { optional: true } });
    const bytes = ["berrymq", ...CORE_DEPENDENCIES].reduce((total, name) => total + sizeOf(join(app, "node_modules", name)), 0);
    console.log(`core-only install: ${(bytes / 1024).toFixed(0)} KiB (berrymq + ${CORE_DEPENDENCIES.join(", ")})`);
    assert.ok(bytes < 5 * 1024 * 1024, `core-only install is ${bytes} bytes`);
  });

  const expected = {
    log: [
      "base base:x",
      "child child:y",
      "static static@ns:z true",
      'save:entry ["abc"] {}',
      'save:exit ["abc"] {"result":3}',
      "oops:caught TypeError",
    ],
    unregistered: true,
    missing: [
      'MISSING_DEPENDENCY: berrymq/redis needs the package "ioredis", which is not installed: run `npm install ioredis`',
      'MISSING_DEPENDENCY: berrymq/zeromq needs the package "zeromq", which is not installed: run `npm install zeromq`',
    ],
  };

  for (const [mode, options] of [
    ["standard decorators", { experimentalDecorators: false }],
    ["experimentalDecorators + emitDecoratorMetadata", { experimentalDecorators: true, emitDecoratorMetadata: true }],
  ] as const) {
    it(`a TypeScript program compiled with ${mode} runs: inheritance, statics, namespaces, missing peers`, () => {
      const out = join(app, mode.startsWith("standard") ? "out-standard" : "out-legacy");
      const tsconfig = {
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, outDir: out, types: ["node"], ...options },
        files: ["consumer.ts"],
      };
      writeFileSync(join(app, "tsconfig.json"), JSON.stringify(tsconfig));
      run(join(app, "node_modules/.bin/tsc"), ["-p", "."], app);
      writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module" }));
      assert.deepEqual(JSON.parse(run(process.execPath, [join(out, "consumer.js")], app)), expected);
    });
  }

  it("the same program runs through tsx (esbuild's decorators)", () => {
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", strict: true } }));
    assert.deepEqual(JSON.parse(run(process.execPath, ["--import", "tsx", "consumer.ts"], app)), expected);
  });

  it("a CommonJS consumer can require the core", () => {
    assert.deepEqual(JSON.parse(run(process.execPath, ["consumer.cjs"], app)), { got: ['job@ns:go {"n":1}'], namespace: "b" });
  });

  it("the CLI works without zeromq, and `berrymq broker` says what to install", () => {
    const cli = join(app, "node_modules/.bin/berrymq");
    assert.match(run(cli, ["--help"], app), /broker/);
    const broker = spawnSync(cli, ["broker"], { cwd: app, encoding: "utf8", timeout: 60_000 });
    assert.equal(broker.status, 1, broker.stderr);
    assert.match(broker.stderr, /needs the package "zeromq".*npm install zeromq/);
  });

  it("publint and @arethetypeswrong/cli (ESM-only profile) pass on the tarball", () => {
    assert.match(run(bin("publint"), ["run", tarball, "--strict"], work), /All good/);
    run(bin("attw"), [tarball, "--profile", "esm-only", "--no-color", "--no-emoji"], work);
  });
});
