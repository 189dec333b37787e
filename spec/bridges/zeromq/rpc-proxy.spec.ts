// An RpcServer delegates procedures it does not have to another server (pseud's proxy); remote errors,
// timeouts and a lost peer behind the proxy reach the caller as what they are.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RpcClient, RpcMethodNotFoundError, RpcPeerLostError, RpcRemoteError, RpcServer, RpcTimeoutError } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";
import { startRpcPeer } from "./rpc-peer-process.js";

describe("zeromq RPC: proxy", () => {
  it("delegates what it does not have; errors, method-not-found and timeouts come through faithfully", async (t) => {
    const back = await RpcServer.listen({ port: await freePort() });
    back.register("add", (a, b) => Number(a) + Number(b));
    back.register("fail", () => {
      throw new RangeError("out of range: 7");
    });
    back.register("slow", () => new Promise((resolve) => setTimeout(() => resolve("late"), 1_000)));
    back.register("where", () => "back");
    const upstream = RpcClient.connect({ port: back.port, callTimeout: 300 });
    const front = await RpcServer.listen({ port: await freePort(), proxy: upstream });
    front.register("where", () => "front"); // its own procedures come first
    const caller = RpcClient.connect({ port: front.port, callTimeout: 5_000 });
    t.after(() => {
      caller.close();
      front.close();
      upstream.close();
      back.close();
    });
    assert.equal(await caller.call("add", 2, 3), 5);
    assert.equal(await caller.call("where"), "front");
    const failed = await caller.call("fail").catch((error: unknown) => error);
    assert.ok(failed instanceof RpcRemoteError, `got ${String(failed)}`);
    assert.equal(failed.remoteName, "RangeError");
    assert.equal(failed.remoteMessage, "out of range: 7");
    assert.equal(failed.rpcCode, -32000);
    await assert.rejects(caller.call("nope"), RpcMethodNotFoundError);
    // The proxy's own call timeout (300 ms) expired behind it: the caller gets a timeout, not a remote error.
    const timedOut = await caller.call("slow").catch((error: unknown) => error);
    assert.ok(timedOut instanceof RpcTimeoutError, `got ${String(timedOut)}`);
    assert.equal(timedOut.timeout, 300);
    assert.equal(timedOut.procedure, "slow");
  });

  it("a server behind the proxy killed mid-call is RpcPeerLostError for the caller, found by the proxy's heartbeats", async (t) => {
    const port = await freePort();
    const child = await startRpcPeer(["server", String(port)]);
    const upstream = RpcClient.connect({ port, heartbeatInterval: 100, heartbeatTimeout: 400, callTimeout: 30_000 });
    const front = await RpcServer.listen({ port: await freePort(), proxy: upstream });
    const caller = RpcClient.connect({ port: front.port, callTimeout: 30_000 });
    t.after(() => {
      child.kill("SIGKILL");
      caller.close();
      front.close();
      upstream.close();
    });
    await waitFor(() => upstream.connected, "the proxy connected upstream");
    const started = Date.now();
    const call = caller.call("hang").catch((error: unknown) => error);
    await waitFor(() => upstream.connected && Date.now() - started > 100, "the call on its way");
    child.kill("SIGKILL");
    const error = await call;
    assert.ok(error instanceof RpcPeerLostError, `got ${String(error)}`);
    assert.match(error.peer, new RegExp(`:${port}$`));
    assert.ok(error.silentMs >= 400);
    assert.ok(Date.now() - started < 10_000, "by the heartbeat, not the 30 s call timeout");
  });
});
