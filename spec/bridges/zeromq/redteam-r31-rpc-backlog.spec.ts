// r31 (found reviewing the bounds red team's RpcServer change, which made it worse): answers to a client
// whose connection took no more (libzmq queues 1,000 frames towards it) were dropped whenever another
// client's connection had room: a client making a burst of 5,000 calls and taking 0.3 ms over each answer
// lost ~2,000 of them (counted in stats.unsent; its calls timed out). Alone on the server, the same burst
// held every other frame behind it, and a client that never reads grew the server without bound. Now such
// a client's frames wait in its backlog, in order, sent as it reads; its further calls wait (their requests,
// small) until the backlog drains; past the bounds a frame or call is dropped, counted and reported.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { RpcClientBackedUpError, RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { heapUsed } from "../../helpers/heap.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { startRpcPeer } from "./rpc-peer-process.js";

describe("red team r31: an RPC client that reads slower than it calls", () => {
  it("gets every answer of a burst of 5,000 (another client connected), none dropped", { timeout: 60_000 }, async (t) => {
    const port = await freePort();
    const server: ChildProcess = await startRpcPeer(["busy-server", String(port)]);
    t.after(() => server.kill("SIGKILL"));
    const idle = RpcClient.connect({ port, callTimeout: 20_000 });
    const client = RpcClient.connect({ port, callTimeout: 20_000 });
    t.after(async () => {
      await idle.close();
      await client.close();
    });
    await idle.call("ping");
    const answers = await Promise.allSettled(
      Array.from({ length: 5_000 }, () =>
        client.call("big").then((answer) => {
          const until = performance.now() + 0.3; // each answer takes this client 0.3 ms
          while (performance.now() < until);
          return answer;
        }),
      ),
    );
    const failed = answers.filter((answer) => answer.status === "rejected");
    assert.equal(
      failed.length,
      0,
      `${failed.length} calls failed, e.g. ${String((failed[0] as PromiseRejectedResult | undefined)?.reason)}`,
    );
    const stats = (await client.call("stats")) as { unsent: number };
    assert.equal(stats.unsent, 0);
  });

  it("a client that never reads holds the server's memory within its bounds; what passes them is counted and reported", {
    timeout: 60_000,
  }, async (t) => {
    const server = await RpcServer.listen({ port: await freePort() });
    const reports: Error[] = [];
    server.on("error", (error) => reports.push(error));
    const answer = "x".repeat(5_000);
    server.register("get", () => answer);
    const unread = new zmq.Dealer({ routingId: "never-reads", linger: 0, receiveHighWaterMark: 10 });
    unread.connect(`tcp://127.0.0.1:${server.port}`);
    t.after(() => {
      unread.close();
      server.close();
    });
    let id = 0;
    const calls = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++)
        await unread.send(["rpc", JSON.stringify({ jsonrpc: "2.0", id: ++id, method: "get", params: [] })]);
      await sleep(300); // answered meanwhile
    };
    await calls(3_000); // warm: libzmq's queue towards the client fills, then the backlog
    const before = heapUsed();
    await calls(15_000);
    const grown = heapUsed() - before;
    // Before: every answer held (~6 KB each: ~90 MB for 15,000), none counted.
    assert.ok(grown < 20_000_000, `heap grew ${grown} bytes over 15,000 calls never read`);
    await waitFor(() => server.stats.unsent > 0, "calls past the bounds counted");
    assert.ok(
      reports.some((error) => error instanceof RpcClientBackedUpError),
      "reported",
    );
  });
});
