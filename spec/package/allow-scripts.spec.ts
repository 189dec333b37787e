// npm 11 warns on install about every dependency whose install scripts package.json's `allowScripts`
// does not cover (and a later npm will skip them): each one installed must be approved or denied there.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";

const root = join(import.meta.dirname, "..", "..");

/** Every package directory under `modules`, scoped and nested ones included. */
function packagesUnder(modules: string): string[] {
  if (!existsSync(modules)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith(".")) continue;
    const dirs = entry.startsWith("@") ? readdirSync(join(modules, entry)).map((name) => join(modules, entry, name)) : [join(modules, entry)];
    for (const dir of dirs) {
      if (existsSync(join(dir, "package.json"))) found.push(dir);
      found.push(...packagesUnder(join(dir, "node_modules")));
    }
  }
  return found;
}

it("every installed dependency with install scripts is named in package.json's allowScripts", () => {
  const allowed = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
  const names = new Set(Object.keys(allowed).map((key) => key.replace(/(.)@.*$/, "$1")));
  const uncovered: string[] = [];
  for (const dir of packagesUnder(join(root, "node_modules"))) {
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; scripts?: Record<string, string> };
    const scripts = manifest.scripts ?? {};
    const runsScripts = ["preinstall", "install", "postinstall"].some((hook) => scripts[hook] !== undefined) || existsSync(join(dir, "binding.gyp"));
    if (runsScripts && manifest.name !== undefined && !names.has(manifest.name)) uncovered.push(manifest.name);
  }
  assert.deepEqual(uncovered, [], "approve them with npm approve-scripts (or deny with npm deny-scripts)");
});
