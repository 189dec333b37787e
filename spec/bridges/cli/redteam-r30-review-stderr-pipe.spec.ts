// Red team r30 review: `berrymq serve --verbose 2>&1 | head` (or `|&`): stdout and stderr are the same pipe.
// Once head exited, the stdout EPIPE was taken (r30), and serve said so... on stderr, whose reader was gone
// too: that EPIPE was an unhandled 'error' event, and the server died with its bus (the r30 fix's own line
// killed it). Now an EPIPE on stderr is taken as well: serve serves on.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { waitFor } from "../../helpers/wait-for.js";
import { post, twitterMessages } from "../jsonrpc/raw-http.js";

const MAIN = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));

describe("red team r30 review: serve --verbose 2>&1 | head", () => {
  it("serves on once the pipe its stdout and stderr share is gone", async (t) => {
    // `exec ... 2>&1`: the CLI itself (its pid), its stderr on its stdout's pipe.
    const child = spawn(
      "sh",
      ["-c", 'exec "$0" "$@" 2>&1', process.execPath, "--import", "tsx", MAIN, "serve", "--port", "0", "--verbose"],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, BERRYMQ_SECRET: "" },
      },
    );
    t.after(() => child.kill("SIGKILL"));
    const code = new Promise<number | null>((resolve) => child.once("exit", (exit) => resolve(exit)));
    let out = "";
    const url = await new Promise<string>((resolve) => {
      const read = (chunk: Buffer): void => {
        out += chunk.toString();
        const found = /http:\/\/\S+\//.exec(out);
        if (found === null) return;
        child.stdout.off("data", read);
        child.stdout.destroy(); // head had its lines
        resolve(found[0]);
      };
      child.stdout.on("data", read);
    });
    // Each message is a line on the closed stdout: its EPIPE, then serve's line about it on stderr.
    const token = await twitterMessages(url, 20, 10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(child.exitCode, null, "serve died");
    const again = await post(url, { jsonrpc: "2.0", id: 99, method: "berrymq.ping", params: { token } });
    assert.ok((again.body as { result?: unknown }).result !== undefined, again.text);
    child.kill("SIGINT");
    assert.equal(await code, 0);
    await waitFor(() => child.exitCode !== null, "exit", 1_000);
  });
});
