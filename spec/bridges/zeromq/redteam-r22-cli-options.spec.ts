// Red team r22: the broker's CLI options as an operator types them.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

const CLI = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));

function run(args: string[]): { output: () => string; exited: Promise<number | null>; kill: () => void } {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "broker", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { output: () => output, exited, kill: () => child.kill("SIGTERM") };
}

describe("berrymq broker (CLI): red team r22", () => {
  it("red team: --expiry Infinity and --max-expiry Infinity (the documented 'never') start a broker; a negative or NaN expiry is still refused with exit code 2", {
    timeout: 20_000,
  }, async () => {
    const broker = run([
      "--pub-port",
      String(await freePort()),
      "--recv-port",
      String(await freePort()),
      "--expiry",
      "Infinity",
      "--max-expiry",
      "Infinity",
    ]);
    try {
      await waitFor(
        () => /berrymq broker: pub|exit|error|refused|expected/i.test(broker.output()),
        "the broker's banner or its refusal",
        10_000,
      );
      assert.match(broker.output(), /berrymq broker: pub tcp:/);
    } finally {
      broker.kill();
      await broker.exited;
    }
    for (const bad of ["-1", "NaN", "-Infinity"]) {
      const refused = run(["--pub-port", "0", "--recv-port", "0", "--expiry", bad]);
      assert.equal(await refused.exited, 2, `--expiry ${bad}: ${refused.output()}`);
    }
  });
});
