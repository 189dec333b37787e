// Red team r31 (bounds): an RpcClient whose server is away grew for as long as it was away. Each call that
// timed out meanwhile left its request behind: in the send queue, behind a heartbeat waiting for a
// connection, or (with a login) in the one promise every call waited on for the next login-ok. A client
// calling 100 times a second through an hour's outage held 360,000 requests, and so did one whose server
// asks for a login and never decides it. What waits is now swept of the calls that ended, the send queue
// holds at most 1,000 requests and answers, and at most 1,000 answers wait for a login.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { RpcClient, type RpcClientOptions, RpcTimeoutError } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { heapUsed } from "../../helpers/heap.js";

// The heap a client grows by over 5,000 calls of 1 KB that time out.
async function growth(client: RpcClient): Promise<number> {
  client.on("error", () => {});
  const args = "z".repeat(1_024);
  const calls = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i += 500) {
      const batch = Array.from({ length: 500 }, () =>
        client.call("work", args).then(
          () => "answered",
          (error: unknown) => error,
        ),
      );
      for (const outcome of await Promise.all(batch)) assert.ok(outcome instanceof RpcTimeoutError, String(outcome));
    }
  };
  await calls(2_000); // warm: the send queue fills to its bound
  const before = heapUsed();
  await calls(5_000);
  assert.equal(client.pending, 0);
  return heapUsed() - before;
}

const options = (port: number): RpcClientOptions => ({ port, identity: "r31-away", callTimeout: 1 });

// A client of a server that asks for a login and never decides it (a client without credentials cannot
// give one; a PLAIN one is asked again and again): it answers calls and heartbeats with a login ask, logins
// with nothing. `request` sends the client a call.
async function undecided(t: {
  after(fn: () => void): void;
}): Promise<{ client: RpcClient; request(body: string): Promise<void> }> {
  const server = new zmq.Router({ linger: 0 });
  await server.bind("tcp://127.0.0.1:*");
  const endpoint = server.lastEndpoint ?? "";
  let peer: Buffer | undefined;
  void (async () => {
    for await (const [identity, kind] of server) {
      peer = identity;
      if (identity !== undefined && String(kind) !== "login") await server.send([identity, "login?", "nonce"]).catch(() => {});
    }
  })().catch(() => {});
  const port = Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
  const client = RpcClient.connect(options(port));
  t.after(() => {
    client.close();
    server.close();
  });
  const until = Date.now() + 5_000;
  while (peer === undefined && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
  return { client, request: (body) => server.send([peer ?? "", "rpc", body]) };
}

describe("red team r31: an RpcClient whose server is away (or never decides its login) stays bounded", () => {
  it("calls timed out while nothing listens at the server's address leave nothing behind", { timeout: 20_000 }, async (t) => {
    const client = RpcClient.connect(options(await freePort()));
    t.after(() => client.close());
    const grown = await growth(client);
    // Before the fix: every request kept (over 1 KB each, 5,000: > 5 MB); after: noise.
    assert.ok(grown < 1_500_000, `heap grew ${grown} bytes over 5,000 calls`);
  });

  it("calls timed out while the server never decides the login leave nothing behind", { timeout: 20_000 }, async (t) => {
    const { client } = await undecided(t);
    const grown = await growth(client);
    assert.ok(grown < 1_500_000, `heap grew ${grown} bytes over 5,000 calls`);
  });

  it("answers waiting for that login: the oldest past 1,000 are dropped and counted", { timeout: 20_000 }, async (t) => {
    const { client, request } = await undecided(t);
    client.register("echo", (value) => value);
    for (let id = 1; id <= 3_000; id++)
      await request(JSON.stringify({ jsonrpc: "2.0", id, method: "echo", params: ["a".repeat(1_024)] }));
    const until = Date.now() + 5_000;
    while (client.stats?.undelivered !== 2_000 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(client.stats?.undelivered, 2_000);
  });
});
