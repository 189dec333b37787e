// Red team r31 (bounds): a client that sends calls and never reads grew an RpcServer without end, when no
// other client's connection had room (alone on the server, say). libzmq takes 1,000 frames towards it; past
// that zeromq.js waited for room, and the server's send queue held every later frame behind that send:
// each answer (12 KB per call for 10 KB answers), never sent nor counted. A send to a full client fails at
// once now, whoever else is connected: dropped and counted in stats.unsent, as it already was with another
// client's connection open.
import assert from "node:assert/strict";
import { it } from "node:test";
import * as zmq from "zeromq";
import { RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { heapUsed } from "../../helpers/heap.js";
import { sleep } from "../../helpers/wait-for.js";

it("red team: answers to a client that never reads, alone on the server, are dropped and counted, not held", {
  timeout: 20_000,
}, async (t) => {
  const server = await RpcServer.listen({ port: await freePort() });
  server.on("error", () => {});
  const answer = "x".repeat(10_000);
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
  await calls(2_000); // warm: libzmq's queue towards the client fills
  const before = heapUsed();
  await calls(4_000);
  const grown = heapUsed() - before;
  // Before the fix: every answer held (~48 MB for 4,000), none counted; after: noise, each counted.
  assert.ok(grown < 3_000_000, `heap grew ${grown} bytes over 4,000 calls never read`);
  assert.ok(server.stats.unsent >= 4_000, `unsent: ${server.stats.unsent}`);
});
