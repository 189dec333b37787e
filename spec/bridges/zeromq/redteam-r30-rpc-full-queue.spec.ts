// r30 red team, RPC: libzmq queues at most 1,000 frames towards one client (its high-water mark, beside
// what TCP buffers); past that the server's send fails at once (EAGAIN, while another client's connection
// has room) and the frame is dropped. A client that sends 3,000 calls for 100 KB answers and reads nothing
// for a while gets ~2,000 of them: the others' callers wait their whole callTimeout, and the server counted
// nothing. r30 counted each frame dropped so (stats.unsent); r31 drops none: the frames wait in the
// client's backlog in the server, and its further calls wait until it drains (redteam-r31-rpc-backlog).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep } from "../../helpers/wait-for.js";

describe("zeromq RPC red team r30: a client's queue full", () => {
  it("answers the client's connection took no more of wait for it: every one comes once it reads (r31)", {
    timeout: 30_000,
  }, async (t) => {
    // This raw client sends no heartbeats: a long heartbeatTimeout keeps it from being dropped as lost (with
    // what waits for it) while a loaded machine is slow to send it its answers.
    const server = await RpcServer.listen({ port: await freePort(), maxRunningCalls: 10_000, heartbeatTimeout: 60_000 });
    const answer = "x".repeat(100_000);
    server.register("get", () => answer);
    // Another client, idle: with a connection that has room, a send to a full one fails at once.
    const idle = RpcClient.connect({ port: server.port });
    // Reading ends after 5 s with nothing: the server and this reader share one event loop, and on a loaded
    // machine 1 s passed between answers once.
    const slow = new zmq.Dealer({ routingId: "slow-reader", linger: 0, receiveTimeout: 5_000 });
    slow.connect(`tcp://127.0.0.1:${server.port}`);
    t.after(() => {
      slow.close();
      idle.close();
      server.close();
    });
    const calls = 3_000;
    for (let id = 1; id <= calls; id++)
      await slow.send(["rpc", JSON.stringify({ jsonrpc: "2.0", id, method: "get", params: [] })]);
    await sleep(1_500); // nothing read meanwhile: the queues towards it fill
    let answered = 0;
    for (;;) {
      try {
        await slow.receive();
        answered++;
      } catch {
        break; // nothing more within receiveTimeout
      }
    }
    assert.equal(answered, calls, `${answered} of ${calls} answered (unsent ${server.stats.unsent})`);
    assert.equal(server.stats.unsent, 0, "none dropped");
  });
});
