// Red team r21, RPC proxy: two servers that proxy to each other must not pass an unknown procedure back
// and forth (each hop a new call, for ever); a proxy whose upstream is slow or dies still answers in time.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { RpcClient, RpcErrorCode, RpcRemoteError, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep } from "../../helpers/wait-for.js";

describe("zeromq RPC red team r21: proxy loops", () => {
  it("A proxies to B which proxies to A: an unknown procedure is refused at once as a proxy loop, and the traffic stops", async (t) => {
    const portA = await freePort();
    const portB = await freePort();
    const toB = RpcClient.connect({ port: portB, callTimeout: 5_000 });
    const toA = RpcClient.connect({ port: portA, callTimeout: 5_000 });
    const a = await RpcServer.listen({ port: portA, proxy: toB });
    const b = await RpcServer.listen({ port: portB, proxy: toA });
    a.register("known", () => "from A");
    const caller = RpcClient.connect({ port: portA, callTimeout: 5_000 });
    t.after(() => {
      caller.close();
      a.close();
      b.close();
      toA.close();
      toB.close();
    });
    assert.equal(await caller.call("known"), "from A");
    const started = Date.now();
    const error = await caller.call("nowhere").catch((failure: unknown) => failure);
    assert.ok(error instanceof RpcRemoteError, `got ${String(error)}`);
    assert.equal(error.rpcCode, RpcErrorCode.proxyLoop);
    assert.match(error.message, /proxy loop/);
    assert.ok(Date.now() - started < 2_000, "refused at once, not after the call timeout");
    // Nothing keeps circling once the caller has its answer.
    await sleep(300);
    assert.equal(toA.pending + toB.pending, 0, "no proxied call left in flight");
  });

  it("a request that claims to have passed 8 proxies already, or carries a malformed via, is not delegated", async (t) => {
    const back = await RpcServer.listen({ port: await freePort() });
    back.register("deep", () => "reached");
    const upstream = RpcClient.connect({ port: back.port });
    const front = await RpcServer.listen({ port: await freePort(), proxy: upstream });
    const raw = new zmq.Dealer({ routingId: "raw", linger: 0 });
    raw.connect(`tcp://127.0.0.1:${front.port}`);
    t.after(() => {
      raw.close();
      front.close();
      upstream.close();
      back.close();
    });
    const ask = async (via: unknown): Promise<{ result?: unknown; error?: { code: number; message: string } }> => {
      await raw.send(["rpc", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "deep", params: [], via })]);
      const [, answer] = await raw.receive();
      return JSON.parse(String(answer)) as { result?: unknown; error?: { code: number; message: string } };
    };
    assert.deepEqual((await ask(["p1", "p2"])).result, "reached", "a short via is delegated");
    const tooFar = await ask(["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"]);
    assert.equal(tooFar.error?.code, RpcErrorCode.proxyLoop);
    assert.match(tooFar.error?.message ?? "", /passed 8 proxies \(at most 8\)/);
    assert.equal((await ask("p1")).error?.code, RpcErrorCode.invalidRequest);
    assert.equal((await ask([1, 2])).error?.code, RpcErrorCode.invalidRequest);
  });
});
