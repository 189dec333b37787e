// Red team r30: `berrymq tail URL | head` and `berrymq get URL --count N | head`. Once head had its lines and
// exited, the next line printed failed with EPIPE, an unhandled 'error' event on stdout: a stack trace and
// exit code 1; tail left its queue open on the server until its ttl (60 s), and get went on taking messages
// off a shared queue, each printed to nobody (lost). Now both stop there: tail closes its queue, get takes
// no more, and both exit 0.
import assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { waitFor } from "../../helpers/wait-for.js";
import { post } from "../jsonrpc/raw-http.js";

const MAIN = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));

// `berrymq ...args` whose stdout the spec reads until the first line, then closes as `head` does.
function piped(args: string[]): { child: ChildProcessByStdio<null, Readable, Readable>; stderr: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, BERRYMQ_SECRET: "" },
  });
  let err = "";
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  child.stdout.once("data", () => child.stdout.destroy());
  return { child, stderr: () => err };
}

function exited(child: ChildProcessByStdio<null, Readable, Readable>): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("red team r30: tail and get piped into a reader that goes away (| head)", () => {
  const bus = new Bus();
  let server: BridgeServer;
  before(async () => {
    server = await serve({ bus, queues: ["job:*"] });
  });
  after(() => server.close());

  it("tail stops, closes its queue on the server and exits 0, without a stack trace", async () => {
    const { child, stderr } = piped(["tail", server.url, "app:*"]);
    const code = exited(child);
    const pump = setInterval(() => {
      for (let i = 0; i < 50; i++) bus.twitter("app:line", "x".repeat(200), i);
    }, 20);
    try {
      assert.equal(await code, 0, stderr());
    } finally {
      clearInterval(pump);
    }
    assert.doesNotMatch(stderr(), /EPIPE|Unhandled/);
    // Closed at once by tail, not swept at its ttl (60 s).
    await waitFor(() => server.connections === 0, "tail's queue closed on the server", 2_000);
  });

  it("get takes no more messages once its stdout is gone, and exits 0", async () => {
    for (let i = 0; i < 1_000; i++) bus.twitter("job:item", i); // the queue's queueSize
    const { child, stderr } = piped(["get", server.url, "--count", "1000", "--timeout", "2000"]);
    assert.equal(await exited(child), 0, stderr());
    assert.doesNotMatch(stderr(), /EPIPE|Unhandled/);
    // What it did not take is still on the server's queue for other workers.
    const opened = await post(server.url, {
      jsonrpc: "2.0",
      id: 1,
      method: "berrymq.connect",
      params: { style: "queue", filter: "job:*", shared: true },
    });
    const token = (opened.body as { result: { token: string } }).result.token;
    const left = await post(server.url, { jsonrpc: "2.0", id: 2, method: "berrymq.getNowait", params: { token } });
    assert.equal((left.body as { result: { id: string } }).result?.id, "job:item", left.text);
    await post(server.url, { jsonrpc: "2.0", id: 3, method: "berrymq.close", params: { token } });
  });
});
