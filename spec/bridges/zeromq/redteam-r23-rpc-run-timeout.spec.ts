// Red team r23, RPC: a procedure that never settles used to keep its call slot for ever, while its caller
// had given up at its callTimeout; after maxRunningCalls of them, every call of that peer was refused
// (RpcBusyError). Now a call runs at most runTimeout (default 60 s), or the caller's own timeout (sent with
// the request) if shorter: then it is answered with RpcTimeoutError and the procedure's signal aborts; its
// slot is freed when the procedure settles (review: freed at the timeout, short timeouts piled them up).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { InvalidArgumentError } from "../../../lib/errors.js";
import { RpcClient, RpcErrorCode, RpcServer, RpcTimeoutError } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

// Settles when its call's signal aborts, as a procedure that honours it does: its slot is then freed.
function untilAborted(this: { signal: AbortSignal }): Promise<never> {
  const signal = this.signal;
  return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
}

describe("zeromq RPC red team r23: calls that never settle", () => {
  it("a call past runTimeout is answered RpcTimeoutError, its slot freed, its signal aborted", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), maxRunningCalls: 2, runTimeout: 300 });
    const signals: AbortSignal[] = [];
    server.register("hang", function (this: { signal: AbortSignal }) {
      signals.push(this.signal);
      return untilAborted.call(this);
    });
    server.register("ping", () => "pong");
    const client = RpcClient.connect({ port: server.port, callTimeout: 10_000 });
    t.after(() => {
      client.close();
      server.close();
    });
    const started = Date.now();
    const results = await Promise.allSettled([client.call("hang"), client.call("hang")]);
    for (const result of results) {
      assert.equal(result.status, "rejected");
      const error = (result as PromiseRejectedResult).reason;
      assert.ok(error instanceof RpcTimeoutError, `got ${String(error)}`);
      assert.equal(error.timeout, 300, "the caller is told the server's bound");
    }
    assert.ok(Date.now() - started < 5_000, "answered at the server's bound, not the caller's 10 s");
    assert.equal(signals.length, 2);
    assert.ok(signals.every((signal) => signal.aborted && signal.reason instanceof RpcTimeoutError));
    assert.equal(await client.call("ping"), "pong", "the slots were freed (it was RpcBusyError)");
  });

  it("the caller's callTimeout, sent with the request, frees the slot when the caller gives up", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), maxRunningCalls: 1 });
    let aborted = false;
    server.register("hang", function (this: { signal: AbortSignal }) {
      this.signal.addEventListener("abort", () => {
        aborted = true;
      });
      return untilAborted.call(this);
    });
    server.register("ping", () => "pong");
    const client = RpcClient.connect({ port: server.port, callTimeout: 300 });
    t.after(() => {
      client.close();
      server.close();
    });
    await assert.rejects(client.call("hang"), RpcTimeoutError);
    await waitFor(() => aborted, "the procedure's signal to abort", 2_000);
    assert.equal(await client.call("ping"), "pong", "the slot was freed (it was RpcBusyError until the default 60 s)");
  });

  it("review: the slot is held until the procedure settles: short caller timeouts cannot pile procedures up past maxRunningCalls", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), maxRunningCalls: 2, runTimeout: 300 });
    let running = 0;
    let most = 0;
    // Ignores its signal and takes 1 s: answered at the timeout, it still runs.
    server.register("slow", async () => {
      most = Math.max(most, ++running);
      await sleep(1_000);
      running--;
      return "late";
    });
    server.register("ping", () => "pong");
    const client = RpcClient.connect({ port: server.port, callTimeout: 10_000 });
    t.after(() => {
      client.close();
      server.close();
    });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => client.call("slow")));
    const names = results.map((result) => (result.status === "rejected" ? (result.reason as Error).name : "answered"));
    assert.equal(names.filter((name) => name === "RpcTimeoutError").length, 2, names.join(", "));
    assert.equal(names.filter((name) => name === "RpcBusyError").length, 18);
    assert.equal(most, 2, "never more than maxRunningCalls procedures at once");
    await assert.rejects(client.call("ping"), (error: unknown) => (error as Error).name === "RpcBusyError", "still running: still held");
    await waitFor(() => running === 0, "the two procedures to end", 3_000);
    assert.equal(await client.call("ping"), "pong", "freed when they settled");
  });

  it("the same bound holds on the client for the server's calls", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), callTimeout: 10_000 });
    const client = RpcClient.connect({ port: server.port, identity: "worker", maxRunningCalls: 1, runTimeout: 200 });
    client.register("hang", untilAborted);
    client.register("ping", () => "pong");
    t.after(() => {
      client.close();
      server.close();
    });
    await waitFor(() => server.clients.includes("worker"), "the client to connect");
    await assert.rejects(server.call("worker", "hang"), (error: unknown) => error instanceof RpcTimeoutError && error.timeout === 200);
    assert.equal(await server.call("worker", "ping"), "pong");
  });

  it("a raw peer's hostile timeout (huge, negative, text) is ignored: runTimeout still bounds the call; a late result is never a second answer", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), runTimeout: 300 });
    let finish: (() => void)[] = [];
    server.register("slow", () => new Promise<string>((resolve) => finish.push(() => resolve("late"))));
    const raw = new zmq.Dealer({ routingId: "raw", linger: 0, receiveTimeout: 3_000 });
    raw.connect(`tcp://127.0.0.1:${server.port}`);
    t.after(() => {
      raw.close();
      server.close();
    });
    const timeouts: unknown[] = [2 ** 40, -5, "9999999", 1.5, 0];
    for (const [i, timeout] of timeouts.entries())
      await raw.send(["rpc", JSON.stringify({ jsonrpc: "2.0", id: i + 1, method: "slow", params: [], timeout })]);
    const answers: { id: number; error?: { code: number; data?: { timeout?: number } } }[] = [];
    while (answers.length < timeouts.length) {
      const [, body] = await raw.receive();
      answers.push(JSON.parse(String(body)));
    }
    assert.deepEqual(
      answers.map((answer) => [answer.id, answer.error?.code, answer.error?.data?.timeout]).sort(),
      timeouts.map((_, i) => [i + 1, RpcErrorCode.timeout, 300]).sort(),
    );
    for (const done of finish) done();
    finish = [];
    await sleep(200);
    await assert.rejects(raw.receive(), "no second answer once the procedure settles late");
  });

  it("runTimeout is checked: above 2^31-1 ms, zero or not an integer is an InvalidArgumentError naming it", async () => {
    for (const runTimeout of [2 ** 31, 0, 1.5, Number.POSITIVE_INFINITY]) {
      const named = (error: unknown): boolean => error instanceof InvalidArgumentError && error.message.includes("runTimeout");
      assert.throws(() => RpcClient.connect({ port: 1, runTimeout }).close(), named);
      await assert.rejects(
        RpcServer.listen({ port: 0, runTimeout }).then((server) => server.close()),
        named,
      );
    }
  });
});
