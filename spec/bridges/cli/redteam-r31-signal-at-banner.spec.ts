// r31 (found by a full run of mine: redteam-r31-serve-options failed once under load with exit code null):
// `berrymq serve` and `berrymq broker` printed their banner, then listened for SIGINT/SIGTERM. A supervisor
// (or a spec) sending SIGTERM as soon as it read the banner could find no listener yet, and Node's default
// action killed the process at once: no session closed, no graceful exit (3 of 12 here, without load). They
// listen before printing now; `tail` too (its banner is on stderr).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

const MAIN = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));

/** Runs `berrymq ...args`, sends SIGTERM the moment its first stdout chunk comes; its exit code. */
async function terminatedAtBanner(args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    stdio: ["ignore", "pipe", "ignore"],
    env: { ...process.env, BERRYMQ_SECRET: "" },
  });
  const bound = setTimeout(() => child.kill("SIGKILL"), 20_000);
  child.stdout.once("data", () => child.kill("SIGTERM"));
  const code = await new Promise<number | null>((resolve) => child.once("exit", (exit) => resolve(exit)));
  clearTimeout(bound);
  return code;
}

describe("red team r31: a SIGTERM right after the banner", () => {
  it("berrymq serve exits 0 (graceful) every time, never killed by the signal", async () => {
    const codes: (number | null)[] = [];
    for (let i = 0; i < 10; i++) codes.push(await terminatedAtBanner(["serve", "--port", "0"]));
    assert.deepEqual(codes, Array(10).fill(0));
  });

  it("berrymq broker exits 0 (graceful) every time, never killed by the signal", async () => {
    const codes: (number | null)[] = [];
    for (let i = 0; i < 6; i++) codes.push(await terminatedAtBanner(["broker", "--pub-port", "0", "--recv-port", "0"]));
    assert.deepEqual(codes, Array(6).fill(0));
  });
});
