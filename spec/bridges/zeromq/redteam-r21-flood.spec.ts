// Red team r21, RPC floods: calls a peer makes are run at once, each holding what its procedure holds until
// it settles, so a peer flooding calls to a slow (or never settling) procedure must meet a bound, per peer
// and in all; so must the calls one end waits answers for.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { RpcBusyError, RpcClient, RpcErrorCode, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

const hang = (): Promise<never> => new Promise(() => undefined);

interface Answer {
  id: number;
  error?: { code: number; message: string; data?: { limit?: number } };
}

describe("zeromq RPC red team r21: call floods", () => {
  it("a raw peer flooding a never-settling procedure gets -32004 past maxRunningCalls; other peers are still served", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), maxRunningCalls: 50 });
    server.register("hang", hang);
    server.register("ping", () => "pong");
    const raw = new zmq.Dealer({ routingId: "flooder", linger: 0, receiveTimeout: 3_000 });
    raw.connect(`tcp://127.0.0.1:${server.port}`);
    const client = RpcClient.connect({ port: server.port, callTimeout: 3_000 });
    t.after(() => {
      client.close();
      raw.close();
      server.close();
    });
    for (let id = 1; id <= 1_000; id++)
      await raw.send(["rpc", JSON.stringify({ jsonrpc: "2.0", id, method: "hang", params: [] })]);
    const refused: Answer[] = [];
    while (refused.length < 950) {
      const [, body] = await raw.receive();
      refused.push(JSON.parse(String(body)) as Answer);
    }
    assert.ok(refused.every((answer) => answer.error?.code === RpcErrorCode.busy && answer.error.data?.limit === 50));
    assert.deepEqual(
      refused.map((answer) => answer.id),
      Array.from({ length: 950 }, (_, i) => i + 51),
      "the first 50 run, every later one is refused",
    );
    assert.equal(await client.call("ping"), "pong", "the bound is per peer");
  });

  it("maxRunningCallsTotal bounds all peers together; the caller gets RpcBusyError", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), maxRunningCallsTotal: 4 });
    let started = 0;
    server.register("hang", () => {
      started++;
      return hang();
    });
    const one = RpcClient.connect({ port: server.port, callTimeout: 10_000 });
    const two = RpcClient.connect({ port: server.port, callTimeout: 10_000 });
    t.after(() => {
      one.close();
      two.close();
      server.close();
    });
    for (let i = 0; i < 4; i++) void one.call("hang").catch(() => undefined);
    await waitFor(() => started === 4, "one's 4 calls running");
    const error = await two.call("hang").catch((failure: unknown) => failure);
    assert.ok(error instanceof RpcBusyError, `got ${String(error)}`);
    assert.equal(error.code, "RPC_BUSY");
    assert.equal(error.limit, 4);
    assert.equal(error.bound, "maxRunningCallsTotal");
  });

  it("a client waiting answers for maxPendingCalls calls refuses one more at once", async (t) => {
    const server = await RpcServer.listen({ port: await freePort() });
    server.register("hang", hang);
    const client = RpcClient.connect({ port: server.port, callTimeout: 10_000, maxPendingCalls: 3 });
    t.after(() => {
      client.close();
      server.close();
    });
    for (let i = 0; i < 3; i++) void client.call("hang").catch(() => undefined);
    const error = await client.call("hang").catch((failure: unknown) => failure);
    assert.ok(error instanceof RpcBusyError, `got ${String(error)}`);
    assert.equal(error.bound, "maxPendingCalls");
    assert.equal(client.pending, 3);
  });
});
