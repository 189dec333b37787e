// Red team r32: an RpcClient facing a hostile server that floods it with login asks ("login?", each with a
// nonce of its own) and never reads. The client answered each ask with a login frame queued behind the one
// before, which waited for room the server never made: past what libzmq and TCP buffer, every ask left a
// login frame (and its promises) in the client for as long as it lived (60,000 asks: ~20 MB). One login frame
// waits at most now, signing the newest ask's nonce.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { RpcClient } from "../../../bridges/zeromq/index.js";
import { heapUsed } from "../../helpers/heap.js";
import { sleep } from "../../helpers/wait-for.js";

// Before the fix, past what libzmq and TCP buffer (30,000 asks grew nothing), ~0.5 KB an ask stayed: 60,000
// asks ~17-32 MB; after, noise. ~4.5 s alone; under a full suite's load more than 28 s once (timeout 90 s).
const ASKS = 60_000;

describe("red team r32: an RpcClient flooded with login asks by a server that never reads", () => {
  it("keeps one login frame waiting, not one per ask", { timeout: 90_000 }, async (t) => {
    const serverKeys = zmq.curveKeyPair();
    // A CURVE server (no ZAP handler: libzmq lets every client in) that reads nothing, with the least room
    // for what it does not read: the client's frames back up soon.
    const router = new zmq.Router({
      linger: 0,
      curveServer: true,
      curvePublicKey: serverKeys.publicKey,
      curveSecretKey: serverKeys.secretKey,
      mandatory: true,
      sendTimeout: 0,
      receiveHighWaterMark: 1,
      receiveBufferSize: 2_048,
    });
    t.after(() => router.close());
    await router.bind("tcp://127.0.0.1:*");
    const endpoint = router.lastEndpoint ?? "";
    const client = RpcClient.connect({
      port: Number(endpoint.slice(endpoint.lastIndexOf(":") + 1)),
      identity: "r32-login-flood",
      curve: { serverKey: serverKeys.publicKey, ...zmq.curveKeyPair() },
      heartbeatInterval: 60_000,
    });
    client.on("error", () => {});
    t.after(() => client.close());
    const before = heapUsed();
    // Unroutable until the client's connection is up (mandatory: EHOSTUNREACH); then one ask after another,
    // waiting a moment when the client's connection is full (EAGAIN).
    const until = Date.now() + 10_000;
    while (!(await router.send([client.identity, "login?", "first"]).then(() => true, () => false))) {
      assert.ok(Date.now() < until, "the client's connection did not come within 10 s");
      await sleep(20);
    }
    // The loop stops with the test (a timeout once left it sending for the file's 300 s).
    for (let ask = 0; ask < ASKS && !t.signal.aborted; ) {
      try {
        await router.send([client.identity, "login?", `nonce-${ask}`]);
        ask++;
      } catch {
        await sleep(1);
      }
    }
    // The client reads the last asks a moment later.
    await sleep(1_500);
    const grown = heapUsed() - before;
    assert.ok(grown < 5_000_000, `the client's heap grew ${grown} bytes over ${ASKS} login asks`);
  });
});
