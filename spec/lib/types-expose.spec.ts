// What `expose` on a typed bus says when it refuses a function: tsc compiles a file of refused calls in a
// child process, and each error must name what is wrong (the parameter, the answer, the identifier), not
// the options (the untyped overload's "'{ bus: Bus<Events>; }' is not assignable to ... 'undefined'").
// types-typed.check.ts proves that they are refused; this, that the refusal can be read.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const root = new URL("../..", import.meta.url).pathname;

const refused: [line: string, expected: string][] = [
  ['expose("calc:add", (a: string) => a, { bus });', "Types of parameters 'a' and 'a' are incompatible"],
  [
    'expose("calc:mul", (a: number, b: number) => String(a * b), { bus });',
    "Type 'string' is not assignable to type 'number | PromiseLike<number>'",
  ],
  ['expose("disk:read", (c: number, unit: string) => unit, { bus });', "Types of parameters 'unit' and 'unit' are incompatible"],
  ['expose("calc:add", (a: number, b: number, c: number) => a + b + c, { bus });', "Target signature provides too few arguments"],
  ['expose("calc:div", (a: number) => a, { bus });', `Argument of type '"calc:div"' is not assignable`],
  ['expose("calc:add", (a: number) => a, { bus, label: 3 });', "Type 'number' is not assignable to type 'string'"],
  [
    'expose("x:y", 5, { bus: new Bus() });',
    "Argument of type 'number' is not assignable to parameter of type '(...args: never[]) => unknown'",
  ],
];

test("expose on a typed bus names what does not fit in its error", () => {
  const dir = mkdtempSync(join(tmpdir(), "berrymq-types-expose-"));
  try {
    const lines = [
      `import { Bus, expose } from ${JSON.stringify(join(root, "lib/index.js"))};`,
      "type Events = {",
      '  "calc:add": [a: number, b: number];',
      '  "calc:mul": { args: [a: number, b: number]; answer: number };',
      '  "disk:read": [celsius: number, unit?: string];',
      "};",
      "const bus = new Bus<Events>();",
      ...refused.map(([line]) => line),
    ];
    const first = lines.length - refused.length + 1; // the line number of the first refused call
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }');
    writeFileSync(join(dir, "refused.ts"), `${lines.join("\n")}\n`);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: join(root, "tsconfig.json"),
        compilerOptions: { noEmit: true, rootDir: "/", typeRoots: [join(root, "node_modules/@types")] },
        include: [],
        files: [join(dir, "refused.ts")],
      }),
    );
    const result = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json"), "--pretty", "false"], {
      encoding: "utf8",
    });
    const output = `${result.stdout}${result.stderr}`;
    // One diagnostic per refused line: it starts at "refused.ts(line,col)", its detail lines follow.
    const diagnostics = output.split(/\n(?=\S)/);
    refused.forEach(([line, expected], index) => {
      const at = `refused.ts(${first + index},`;
      const diagnostic = diagnostics.filter((text) => text.includes(at)).join("\n");
      assert.ok(diagnostic !== "", `no error for ${line}\n${output}`);
      assert.ok(diagnostic.includes(expected), `the error for ${line} does not say "${expected}":\n${diagnostic}`);
      assert.ok(!diagnostic.includes("parameter of type 'undefined'"), `the error for ${line} is about the options:\n${diagnostic}`);
    });
    assert.equal(diagnostics.filter((text) => text.includes("refused.ts(")).length, refused.length, output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
