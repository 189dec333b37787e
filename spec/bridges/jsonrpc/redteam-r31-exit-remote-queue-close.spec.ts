// Red team r31: RemoteQueueClient.close() against a paused server (SIGSTOP: it accepts, answers nothing).
// - On a berryMQ 0.3 server its close_connection call had no bound of its own: close() waited the
//   endpoint's whole timeout (30 s by default, here the client's 5 s), where against berrymq it waits 1 s.
// - Called twice, the second call resolved at once while the first still waited for the server, its
//   sockets open: a process that awaited it ran on for that second. It is the first call's promise now.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RemoteQueueClient } from "../../../bridges/jsonrpc/remote-queue-client.js";
import { settlesWithin } from "../../helpers/wait-for.js";
import { type PeerProcess, startLegacyNode, startPeer } from "./peer-process.js";

// The client's call timeout: what a legacy close() waited before the fix.
const TIMEOUT = 5_000;

async function pausedQueue(t: { after(fn: () => Promise<void>): void }, far: PeerProcess): Promise<RemoteQueueClient> {
  t.after(() => far.kill());
  const queue = await RemoteQueueClient.connect(far.url, { filter: "task:*", timeout: TIMEOUT });
  far.pause();
  return queue;
}

describe("red team r31: RemoteQueueClient.close() on a paused server", { timeout: 20_000 }, () => {
  it("on a berryMQ 0.3 server, close() settles within its 1 s bound, not the call timeout", async (t) => {
    const queue = await pausedQueue(t, await startLegacyNode({}));
    const started = performance.now();
    assert.ok(await settlesWithin(queue.close(), 2_500), `close() still waited after 2.5 s (the client's timeout is ${TIMEOUT} ms)`);
    assert.ok(performance.now() - started >= 900, "close() waited for the server's answer up to its bound");
  });

  it("a second close() resolves only once the first did", async (t) => {
    const queue = await pausedQueue(t, await startPeer({ busId: "r31-far", queues: ["task:*"] }));
    let first = false;
    void queue.close().then(() => {
      first = true;
    });
    await queue.close();
    assert.ok(first, "the first close() had resolved when the second did");
  });
});
