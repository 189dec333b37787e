// Red team r30: `berrymq tail URL | head`, `berrymq get URL --count N | head` and `berrymq serve --verbose |
// head`. Once head had its lines and exited, the next line printed failed with EPIPE, an unhandled 'error'
// event on stdout: a stack trace and exit code 1; tail left its queue open on the server until its ttl (60 s),
// get went on taking messages off a shared queue, each printed to nobody (lost), and serve (or broker) died
// with its bus. Now tail closes its queue and get takes no more (both exit 0); serve and broker run on, saying so.
import assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, serve } from "../../../bridges/jsonrpc/index.js";
import { BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { waitFor } from "../../helpers/wait-for.js";
import { post, twitterMessages } from "../jsonrpc/raw-http.js";

const MAIN = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));

// `berrymq ...args` whose stdout the spec reads until the first line, then closes as `head` does.
function piped(args: string[]): {
  child: ChildProcessByStdio<null, Readable, Readable>;
  stderr: () => string;
  first: Promise<string>;
} {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, BERRYMQ_SECRET: "" },
  });
  let err = "";
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const first = new Promise<string>((resolve) =>
    child.stdout.once("data", (chunk: Buffer) => {
      child.stdout.destroy();
      resolve(chunk.toString());
    }),
  );
  return { child, stderr: () => err, first };
}

function exited(child: ChildProcessByStdio<null, Readable, Readable>): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("red team r30: tail, get, serve --verbose and broker --verbose piped into a reader that goes away (| head)", () => {
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

  it("serve --verbose serves on once its stdout is gone (the EPIPE killed it at the next message), and says so", async () => {
    const { child, stderr, first } = piped(["serve", "--port", "0", "--verbose"]);
    const code = exited(child);
    const url = /http:\/\/\S+\//.exec(await first)?.[0] as string;
    await twitterMessages(url, 20);
    await waitFor(() => stderr().includes("stdout closed"), "serve to say its stdout is gone", 2_000);
    assert.equal(child.exitCode, null, stderr());
    child.kill("SIGINT");
    assert.equal(await code, 0, stderr());
    assert.doesNotMatch(stderr(), /EPIPE|Unhandled/);
  });

  it("broker --verbose runs on once its stdout is gone (the EPIPE of its next log line killed it), and says so", async () => {
    const { child, stderr, first } = piped(["broker", "--pub-port", "0", "--recv-port", "0", "--verbose"]);
    const code = exited(child);
    const ports = /pub tcp:\/\/[^:]+:(\d+), recv tcp:\/\/[^:]+:(\d+)/.exec(await first);
    assert.ok(ports !== null, "the broker's ports");
    const bus = new Bus();
    // Its registration is a log line, written to the closed stdout.
    const link = await BrokerLink.connect({ bus, pubPort: Number(ports[1]), recvPort: Number(ports[2]) });
    try {
      await waitFor(() => stderr().includes("stdout closed"), "the broker to say its stdout is gone", 5_000);
      assert.equal(child.exitCode, null, stderr());
    } finally {
      await link.close();
    }
    child.kill("SIGINT");
    assert.equal(await code, 0, stderr());
    assert.doesNotMatch(stderr(), /EPIPE|Unhandled/);
  });
});
