// Red team r20: berrymq's JSON-RPC clients (PeerLink, RemoteQueueClient, SendOnlyClient, a server's link
// back to a peer that called `interconnect` with its own URL) read every answer whole, however large: what
// answers at a URL could make the process buffer without end. Now an answer past `maxAnswerSize` fails the
// call. The hostile server is a bare node:http server in a child process that sends a big answer and stalls.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { BadResponseError, RemoteQueueClient, RpcEndpoint } from "../../../bridges/jsonrpc/index.js";
import { settlesWithin } from "../../helpers/wait-for.js";

// Answers every POST with a declared 1 GB JSON body and sends 3 MiB of it, then stalls (never ends); on
// /trickle it sends one byte every 100 ms instead.
const HOSTILE = `
const { createServer } = require("node:http");
const piece = Buffer.alloc(64 * 1024, 0x20);
const server = createServer((req, res) => {
  req.resume();
  if (req.url === "/trickle") {
    // One byte every 100 ms, for good.
    res.writeHead(200, { "content-type": "application/json", "content-length": String(1e9) });
    const timer = setInterval(() => res.write(" "), 100);
    res.on("close", () => clearInterval(timer));
    return;
  }
  res.writeHead(200, { "content-type": "application/json", "content-length": String(1e9) });
  let sent = 0;
  const more = () => {
    while (sent < 3 * 1024 * 1024) {
      sent += piece.length;
      if (!res.write(piece)) return void res.once("drain", more);
    }
  };
  more();
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

describe("a hostile server's answer: too large, or trickled", () => {
  let hostile: ChildProcess;
  let url: string;
  before(async () => {
    hostile = spawn(process.execPath, ["-e", HOSTILE], { stdio: ["ignore", "pipe", "inherit"] });
    const port = await new Promise<string>((resolve) => hostile.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim())));
    url = `http://127.0.0.1:${port}/`;
  });
  after(() => {
    hostile.kill();
  });

  it("fails the call with BadResponseError naming the bound, instead of buffering the answer", async () => {
    const endpoint = new RpcEndpoint(url, { maxAnswerSize: 1024 * 1024, timeout: 60_000 });
    try {
      const call = endpoint.call("berrymq.hello", {}).then(
        () => "resolved",
        (error: unknown) => error,
      );
      // Before the bound, the call waited (buffering) until the 60 s timeout: the hostile server never ends.
      assert.ok(await settlesWithin(call, 15_000), "the call ended well before its timeout");
      const error = await call;
      assert.ok(error instanceof BadResponseError, `BadResponseError, got ${String(error)}`);
      assert.match(error.message, /maxAnswerSize/);
    } finally {
      endpoint.close();
    }
  });

  it("the bound reaches the clients through their options; a bound that is not a positive integer is refused", async () => {
    assert.throws(() => new RpcEndpoint(url, { maxAnswerSize: 0 }), /maxAnswerSize/);
    // RemoteQueueClient.connect asks the server to open a queue first: that answer is the hostile one.
    const connecting = RemoteQueueClient.connect(url, { filter: "any:*", maxAnswerSize: 1024 * 1024, timeout: 60_000 }).then(
      (client) => client,
      (error: unknown) => error,
    );
    assert.ok(await settlesWithin(connecting, 15_000), "connect ended well before its timeout");
    const outcome = await connecting;
    if (outcome instanceof RemoteQueueClient) await outcome.close();
    assert.ok(outcome instanceof BadResponseError, `BadResponseError, got ${String(outcome)}`);
  });

  it("a server that trickles its answer fails the call after its timeout (a socket timeout started again on every byte)", async () => {
    const endpoint = new RpcEndpoint(`${url}trickle`, { timeout: 1_000 });
    try {
      const call = endpoint.call("berrymq.hello", {}).then(
        () => "resolved",
        (error: unknown) => error,
      );
      assert.ok(await settlesWithin(call, 15_000), "the call ended (before: never, while bytes kept coming)");
      assert.match(String(await call), /no answer within 1000 ms/);
    } finally {
      endpoint.close();
    }
  });
});
