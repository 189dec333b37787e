#!/usr/bin/env node
// `npm test`: type-check, compile the decorator specs in both TypeScript modes, run every spec with
// node's test runner, and fail when no test ran (node --test exits 0 on an empty run).
// `npm test -- spec/lib/queue.spec.ts` runs only the given spec files (the type-check still runs).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const tsc = join(root, "node_modules/.bin/tsc");

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`\n✖ ${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

function specsUnder(dir, suffix) {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { recursive: true })
    .map((file) => join(dir, String(file)))
    .filter((file) => file.endsWith(suffix))
    .sort();
}

console.log("• type-check (tsc --noEmit)");
run(tsc, ["--noEmit", "-p", "."]);

rmSync(join(root, ".build"), { recursive: true, force: true });
console.log("• compile decorator specs: experimentalDecorators and standard decorators");
run(tsc, ["-p", "spec/decorators/tsconfig.legacy.json"]);
run(tsc, ["-p", "spec/decorators/tsconfig.standard.json"]);

const chosen = process.argv.slice(2);
// A decorator spec named on the command line runs as tsc compiled it, in both modes: run from its
// TypeScript source, tsx would compile it in one mode of its own, which is not what the spec tests.
const compiledIfDecorator = (file) =>
  file.startsWith("spec/decorators/") && file.endsWith(".spec.ts")
    ? ["legacy", "standard"].map((mode) => join(".build", mode, file.replace(/\.ts$/, ".js")))
    : [file];
const files = chosen.length > 0
  ? chosen.flatMap((file) => compiledIfDecorator(relative(root, join(process.cwd(), file))))
  : [
      ...specsUnder("spec", ".spec.ts").filter((file) => !file.startsWith("spec/decorators/")),
      ...specsUnder(".build", ".spec.js"),
    ];
if (files.length === 0) {
  console.error("✖ no spec files found");
  process.exit(1);
}

const tap = join(root, ".build", "results.tap");
console.log(`• node --test: ${files.length} spec files`);
const result = spawnSync(
  process.execPath,
  [
    "--import", "tsx",
    "--expose-gc",
    "--test",
    // Three spec files at once on 2 cores: most of a spec's time is waiting on child processes, servers and
    // timers (a run at 2 used ~1.2 cores: 904 s; at 3, 719 s, ~1.45 cores, r29). At 4 under heavy outside
    // load (load average 10+) start-up waits ran out: 3 keeps a margin.
    "--test-concurrency=3",
    "--test-timeout=300000",
    "--test-reporter=spec", "--test-reporter-destination=stdout",
    "--test-reporter=tap", `--test-reporter-destination=${tap}`,
    ...files,
  ],
  // A spec that leaves a handle open keeps its process alive: stop the whole run rather than hang CI. A
  // guard against a hang, not the suite's budget: a whole run took ~720 s on a quiet 2-core machine (r29).
  { cwd: root, stdio: "inherit", timeout: 25 * 60_000, killSignal: "SIGKILL" },
);
if (result.error !== undefined) {
  console.error(`✖ node --test did not finish: ${result.error.message} (a spec left a handle open?)`);
  process.exit(1);
}
const summary = existsSync(tap) ? readFileSync(tap, "utf8") : "";
const count = (name) => Number(summary.match(new RegExp(`^# ${name} (\\d+)$`, "m"))?.[1] ?? 0);
const tests = count("tests");
const pass = count("pass");
if (!(tests > 0)) {
  console.error("✖ no test ran");
  process.exit(1);
}
console.log(`• ${pass} of ${tests} tests passed`);
process.exit(result.status ?? 1);
