#!/usr/bin/env node
// `npm run bench`: runs every bench/*.ts in turn (or those named: `npm run bench -- dispatch redis`).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const wanted = process.argv.slice(2);
const order = ["dispatch", "bridge", "link-path", "redis", "zeromq"];
const benches = readdirSync(join(root, "bench"))
  // measure.ts is the shared timing helper, not a benchmark.
  .filter((file) => file.endsWith(".ts") && file !== "measure.ts")
  .map((file) => file.slice(0, -3))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
let failed = 0;
for (const name of benches) {
  console.log(`\n=== bench/${name}.ts ===`);
  const result = spawnSync(process.execPath, ["--import", "tsx", "--expose-gc", join("bench", `${name}.ts`)], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
