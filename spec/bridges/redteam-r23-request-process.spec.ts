// Red team r23: request/response with a child process over PeerLink, RedisLink (a real redis-server) and
// BrokerLink (a real ZeroMQ broker). The child is spec/bridges/fixtures/request-peer.ts (its r23:* followers).
// - A follower rejecting with a null-prototype object, or throwing an Error whose message is an object:
//   building the error answer threw, so the asker got no answer and the child died of the unhandled
//   rejection (Node's default), its other followers gone with it.
// - 1,000 concurrent talk()s with within(): each caller gets its own answer, once.
// - A timeout above 2^31-1 ms across a link does not fire at once.
// - The child killed -9 between two answers and restarted under its bus id: the timeout carries the
//   answer it gave; the new process answers new requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { within } from "../../lib/request.js";
import { RemoteError, RequestTimeoutError } from "../../lib/request-errors.js";
import { jsonrpcParent, type RequestParent, redisParent, zeromqParent } from "./request-parents.js";
import { type RequestPeer, startRequestPeer } from "./request-process.js";
import { untilLinked } from "./linked-child.js";

declareSpecs();

type Setup = RequestParent;

function attack(transport: RequestParent["peer"]["transport"], setup: () => Promise<Setup>): void {
  describe(`red team r23: requests to a child process over ${transport}`, () => {
    let linked: Setup;
    let child: RequestPeer;
    const busId = `r23-${transport}-child`;
    before(async () => {
      linked = await setup();
      linked.bus.on("error", () => {});
      child = await startRequestPeer({ ...linked.peer, busId });
      assert.equal(await untilLinked(linked.bus, busId), child.pid);
    });
    after(async () => {
      await child?.stop();
      await linked?.close();
    });

    it("followers failing with a null-prototype object or an object message: RemoteErrors from the child, which lives on", async () => {
      const rejected = await linked.bus.ask("r23:null-proto", within({ timeout: 5_000 })).catch((e: unknown) => e);
      assert.ok(rejected instanceof RemoteError, String(rejected));
      assert.equal(rejected.bus, busId);
      assert.equal(rejected.remoteName, "Error");
      assert.ok(rejected.message.endsWith(": {}"), rejected.message);
      const thrown = await linked.bus.request("r23:object-message", within({ timeout: 5_000 }));
      assert.equal(thrown.length, 1);
      const [answer] = thrown;
      assert.ok(answer !== undefined && !answer.ok && answer.error.remoteName === "SyntaxError", JSON.stringify(answer));
      assert.ok(answer.error.message.endsWith(': {"code":7}'), answer.error.message);
      // The child still answers, from the same process.
      const who = await linked.bus.ask<{ pid: number }>("r23:whoami", within({ timeout: 5_000 }));
      assert.equal(who.pid, child.pid);
      assert.equal(linked.bus.pendingRequests, 0);
    });

    it("1,000 concurrent talk()s with within(): each caller gets exactly its own answer", async () => {
      const results = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) => linked.bus.talk("r23:add", "r23:sum", i, 7, within({ count: 1, timeout: 20_000 }))),
      );
      assert.deepEqual(
        results,
        Array.from({ length: 1_000 }, (_, i) => [i + 7]),
      );
      assert.equal(linked.bus.pendingRequests, 0);
    });

    it("a timeout above 2^31-1 ms waits for the child's slow answer rather than firing at once", async () => {
      const answer = await linked.bus.ask("r23:slow", within({ timeout: 2 ** 31 + 1 }));
      assert.equal(answer, "slow");
      assert.equal(linked.bus.pendingRequests, 0);
    });

    // Last: it kills the child.
    it("killed -9 after one of two answers, restarted under its bus id: the timeout carries that answer; the new process answers", async () => {
      const firstPid = child.pid;
      const waiting = linked.bus.request<string>("r23:some", within({ count: 2, timeout: 3_000 })).catch((e: unknown) => e);
      // The request's first answer is in once a later ask of the same follower is answered (one link, in order).
      assert.equal(await linked.bus.ask<string>("r23:some", within({ timeout: 2_000 })), `quick from ${firstPid}`);
      assert.equal(linked.bus.pendingRequests, 1);
      await child.kill();
      const ended = await waiting;
      assert.ok(ended instanceof RequestTimeoutError, String(ended));
      assert.deepEqual(
        ended.answers.map((a) => (a.ok ? [a.value, a.bus] : a.error.message)),
        [[`quick from ${firstPid}`, busId]],
      );
      child = await startRequestPeer({ ...linked.peer, busId });
      const newPid = await untilLinked(linked.bus, busId);
      assert.equal(newPid, child.pid);
      assert.notEqual(newPid, firstPid);
      assert.equal(await linked.bus.ask("r23:some", within({ timeout: 5_000 })), `quick from ${newPid}`);
      assert.equal(linked.bus.pendingRequests, 0);
    });
  });
}

function declareSpecs(): void {
  attack("jsonrpc", () => jsonrpcParent("r23-parent-jsonrpc"));

  let redis: { url: string; stop(): Promise<void> } | undefined;
  before(async () => {
    const { startRedis } = await import("../helpers/redis-server.js");
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });
  attack("redis", () => redisParent("r23-parent-redis", (redis as { url: string }).url, "r23-"));

  attack("zeromq", () => zeromqParent("r23-parent-zeromq"));
}
