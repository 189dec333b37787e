// Review of r31's stdout failures (`> out` on a full disk; /dev/full answers every write with ENOSPC): r31
// heard them in get, tail, dead-letters, serve and broker, not in what every command prints first. `--help`
// into a full disk died with a stack trace (exit 1); with stderr on one, a misuse (exit 2) died the same way
// at its usage, exit 1. Now --help says it could not write (exit 1), and misuse keeps its exit code 2.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { cli } from "../../helpers/cli-process.js";
import { settlesWithin } from "../../helpers/wait-for.js";

const FULL = "/dev/full";
const MAIN = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));

describe("red team r31 review: help and usage into a full disk", { skip: !existsSync(FULL) && `no ${FULL} here` }, () => {
  it("--help with stdout on a full disk says so, exit 1, no stack trace", async (t) => {
    for (const [args, name] of [
      [["--help"], "--help"],
      [["get", "--help"], "get"],
      [["broker", "--help"], "broker"],
    ] as const) {
      const fd = openSync(FULL, "w");
      const run = cli([...args], {}, fd);
      closeSync(fd);
      t.after(() => run.signal("SIGKILL"));
      assert.ok(await settlesWithin(run.exited, 45_000), `${args.join(" ")} still runs after 45 s`);
      assert.equal(await run.exited, 1, run.stderr());
      assert.equal(run.stderr(), `berrymq ${name}: cannot write to stdout: ENOSPC: no space left on device, write\n`);
    }
  });

  it("a misuse with stderr on a full disk still exits 2", async (t) => {
    for (const args of [[], ["nosuch"], ["get"], ["broker", "--bind", ""]]) {
      const fd = openSync(FULL, "w");
      const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
        stdio: ["ignore", "ignore", fd],
        env: { ...process.env, BERRYMQ_SECRET: "" },
      });
      closeSync(fd);
      t.after(() => child.kill("SIGKILL"));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      assert.ok(await settlesWithin(exited, 45_000), `${args.join(" ")} still runs after 45 s`);
      assert.equal(await exited, 2, `berrymq ${args.join(" ")}`);
    }
  });
});
