// The RPC proxy passes its caller's bounds on: the caller's timeout bounds the call behind the proxy, and
// a caller that is gone (killed, timed out) stops the procedure behind the proxy at once (`rpc.cancel`).
// Before r24 the proxy forwarded with its own client's callTimeout, and the procedure behind it ran on.
// And a caller's own maxMessageBytes bounds the answers it is sent (it travels with each call).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import {
  type RpcCallContext,
  RpcCancelledError,
  RpcClient,
  RpcMethodNotFoundError,
  RpcRemoteError,
  RpcServer,
  RpcTimeoutError,
} from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { startRpcPeer } from "./rpc-peer-process.js";

/** A back server whose "slow" procedure waits until its signal aborts, and records when and why. */
async function backServer(): Promise<{ server: RpcServer; aborts: { after: number; reason: unknown }[] }> {
  const server = await RpcServer.listen({ port: await freePort() });
  const aborts: { after: number; reason: unknown }[] = [];
  server.register("slow", function (this: RpcCallContext) {
    const started = performance.now();
    return new Promise((resolve) => {
      this.signal.addEventListener("abort", () => {
        aborts.push({ after: performance.now() - started, reason: this.signal.reason });
        resolve("stopped");
      });
    });
  });
  return { server, aborts };
}

describe("red team r24: the RPC proxy passes its caller's bounds on", () => {
  it("the caller's timeout (300 ms) bounds the procedure behind the proxy, not the proxy's callTimeout (30 s)", async (t) => {
    const back = await backServer();
    const upstream = RpcClient.connect({ port: back.server.port, callTimeout: 30_000 });
    const front = await RpcServer.listen({ port: await freePort(), proxy: upstream });
    const caller = RpcClient.connect({ port: front.port, callTimeout: 300 });
    t.after(() => {
      caller.close();
      front.close();
      upstream.close();
      back.server.close();
    });
    const failed = await caller.call("slow").catch((error: unknown) => error);
    assert.ok(failed instanceof RpcTimeoutError, `got ${String(failed)}`);
    assert.equal(failed.timeout, 300);
    await waitFor(() => back.aborts.length > 0, "the procedure behind the proxy stopped", 5_000);
    const [abort] = back.aborts;
    assert.ok(abort !== undefined && abort.after < 5_000, `stopped after ${abort?.after.toFixed(0)} ms`);
    assert.ok(
      abort.reason instanceof RpcTimeoutError || abort.reason instanceof RpcCancelledError,
      `aborted with ${String(abort.reason)}`,
    );
    assert.equal(upstream.pending, 0, "the proxy waits for nothing more");
  });

  it("a caller killed with SIGKILL mid-call: the proxy's heartbeats find it lost and the procedure behind the proxy aborts with RpcCancelledError", async (t) => {
    const back = await backServer();
    const upstream = RpcClient.connect({ port: back.server.port, callTimeout: 30_000 });
    const front = await RpcServer.listen({ port: await freePort(), proxy: upstream, heartbeatInterval: 100, heartbeatTimeout: 400 });
    const child = await startRpcPeer(["caller", String(front.port), "slow"]);
    t.after(() => {
      child.kill("SIGKILL");
      front.close();
      upstream.close();
      back.server.close();
    });
    await waitFor(() => upstream.pending === 1, "the call delegated behind the proxy", 5_000);
    child.kill("SIGKILL");
    await waitFor(() => back.aborts.length > 0, "the procedure behind the proxy stopped", 10_000);
    const [abort] = back.aborts;
    assert.ok(abort?.reason instanceof RpcCancelledError, `aborted with ${String(abort?.reason)}`);
    assert.equal(abort.reason.procedure, "slow");
    assert.equal(abort.reason.code, "RPC_CANCELLED");
    assert.equal(upstream.pending, 0, "the proxy's delegated call ended with its caller");
  });

  it("a caller with a smaller maxMessageBytes than the server: a result or error over the caller's bound is answered RpcAnswerTooBig, not cut by the caller's libzmq", async (t) => {
    const server = await RpcServer.listen({ port: await freePort() }); // 1 MiB
    server.register("big", () => "x".repeat(50_000));
    server.register("bigError", () => {
      throw new Error("y".repeat(50_000));
    });
    server.register("small", () => "fine");
    const client = RpcClient.connect({ port: server.port, maxMessageBytes: 10_000, callTimeout: 3_000 });
    t.after(() => {
      client.close();
      server.close();
    });
    for (const name of ["big", "bigError"]) {
      const failed = await client.call(name).catch((error: unknown) => error);
      assert.ok(failed instanceof RpcRemoteError, `${name}: got ${String(failed)}`);
      assert.equal(failed.remoteName, "RpcAnswerTooBig");
      assert.match(failed.remoteMessage, /over maxMessageBytes \(10000, the caller's\)/);
    }
    assert.equal(await client.call("small"), "fine", "the connection is still fine");
  });

  it("review: through a proxy, an error of the server behind over the caller's maxMessageBytes is answered RpcAnswerTooBig too", async (t) => {
    const back = await RpcServer.listen({ port: await freePort() });
    back.register("bigError", () => {
      throw new Error("y".repeat(50_000));
    });
    const upstream = RpcClient.connect({ port: back.port, callTimeout: 5_000 });
    const front = await RpcServer.listen({ port: await freePort(), proxy: upstream });
    const caller = RpcClient.connect({ port: front.port, maxMessageBytes: 10_000, callTimeout: 3_000 });
    t.after(() => {
      caller.close();
      front.close();
      upstream.close();
      back.close();
    });
    const failed = await caller.call("bigError").catch((error: unknown) => error);
    assert.ok(failed instanceof RpcRemoteError, `got ${String(failed)}`);
    assert.equal(failed.remoteName, "RpcAnswerTooBig");
    assert.match(failed.remoteMessage, /over maxMessageBytes \(10000, the caller's\)/);
  });

  it("review: calls that timed out while the server behind the proxy was away send it no rpc.cancel (they were never sent)", async (t) => {
    const backPort = await freePort();
    const upstream = RpcClient.connect({ port: backPort, callTimeout: 30_000 });
    upstream.on("error", () => undefined);
    const front = await RpcServer.listen({ port: await freePort(), proxy: upstream });
    const caller = RpcClient.connect({ port: front.port, callTimeout: 100 });
    const back = new zmq.Router({ linger: 0 });
    t.after(() => {
      caller.close();
      front.close();
      upstream.close();
      back.close();
    });
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => caller.call("later")));
    assert.ok(results.every((result) => result.status === "rejected" && result.reason instanceof RpcTimeoutError));
    await waitFor(() => upstream.pending === 0, "the proxy's delegated calls ended with their callers", 5_000);
    // The server behind comes up (a raw ROUTER, to see every frame the proxy's client sends it).
    await back.bind(`tcp://127.0.0.1:${backPort}`);
    let cancels = 0;
    let frames = 0;
    void (async () => {
      for await (const [, , body] of back) {
        frames++;
        if (String(body ?? "").includes('"rpc.cancel"')) cancels++;
      }
    })().catch(() => undefined);
    await waitFor(() => frames > 0, "the proxy's client reached it", 5_000);
    await sleep(1_000);
    assert.equal(cancels, 0, "before the review fix: one rpc.cancel for each call the proxy never sent");
  });

  it("a call named rpc.cancel with an id is a call like any other (only the notification cancels)", async (t) => {
    const back = await backServer();
    back.server.register("add", (a, b) => Number(a) + Number(b));
    const client = RpcClient.connect({ port: back.server.port, callTimeout: 5_000 });
    t.after(() => {
      client.close();
      back.server.close();
    });
    await assert.rejects(client.call("rpc.cancel", 1), RpcMethodNotFoundError);
    assert.equal(await client.call("add", 2, 3), 5);
    assert.deepEqual(back.aborts, []);
  });
});
