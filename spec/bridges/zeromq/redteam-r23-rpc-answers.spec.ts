// Red team r23, RPC: every call gets an answer that says what went wrong, and a call being run learns
// (its signal aborts) when nobody waits for its answer any more. Before: a procedure throwing a
// null-prototype object got no answer at all; a result, an error or arguments over maxMessageBytes were
// refused unread by the far side, so the caller waited its whole callTimeout for an RpcTimeoutError; a
// procedure kept running (and its slot) after its caller was killed or either end closed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../../lib/errors.js";
import { RpcClient, RpcClosedError, RpcPeerLostError, RpcRemoteError, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

// Settles when its call's signal aborts, as a procedure that honours it does: its slot is then freed.
function untilAborted(this: { signal: AbortSignal }): Promise<never> {
  const signal = this.signal;
  return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
}
const FAST = 2_000; // well under the callTimeout of 20 s below: an answer, not a timeout

async function rejectsFast(call: Promise<unknown>, check: (error: unknown) => boolean): Promise<void> {
  const started = Date.now();
  await assert.rejects(call, check);
  assert.ok(Date.now() - started < FAST, `answered in ${Date.now() - started} ms, not at the caller's timeout`);
}

describe("zeromq RPC red team r23: answers and aborted runs", () => {
  it("a thrown null-prototype object, a throwing toString or a huge message are answered at once", async (t) => {
    const server = await RpcServer.listen({ port: await freePort() });
    server.register("nullProto", () => {
      throw Object.create(null);
    });
    server.register("badToString", () => {
      throw {
        toString() {
          throw new Error("no");
        },
      };
    });
    server.register("hugeMessage", () => {
      throw new Error("\u0001".repeat(400_000)); // 6 bytes each in JSON, twice: over 1 MiB
    });
    const client = RpcClient.connect({ port: server.port, callTimeout: 20_000 });
    t.after(() => {
      client.close();
      server.close();
    });
    for (const name of ["nullProto", "badToString"]) {
      await rejectsFast(client.call(name), (error) => error instanceof RpcRemoteError && error.remoteMessage.includes("cannot be described"));
    }
    await rejectsFast(
      client.call("hugeMessage"),
      (error) => error instanceof RpcRemoteError && error.remoteName === "RpcAnswerTooBig" && error.remoteMessage.includes("1048576"),
    );
  });

  it("a result over maxMessageBytes is answered RpcAnswerTooBig; arguments over it fail at once, naming the size", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), codec: "msgpack" });
    server.register("big", () => Buffer.alloc(1_500_000));
    server.register("length", (bytes) => (bytes as Buffer).length);
    const client = RpcClient.connect({ port: server.port, codec: "msgpack", callTimeout: 20_000 });
    t.after(() => {
      client.close();
      server.close();
    });
    await rejectsFast(
      client.call("big"),
      (error) => error instanceof RpcRemoteError && error.remoteName === "RpcAnswerTooBig" && error.remoteMessage.includes("big"),
    );
    for (const size of [1_500_000, 5_000_000]) {
      await rejectsFast(
        client.call("length", Buffer.alloc(size)),
        (error) => error instanceof InvalidArgumentError && error.message.includes("maxMessageBytes") && error.message.includes(`${size}`.slice(0, 3)),
      );
    }
    assert.equal(await client.call("length", Buffer.alloc(1_000)), 1_000, "the connection is still fine");
  });

  it("a caller killed with SIGKILL mid-call: the running procedure's signal aborts (RpcPeerLostError) and its slot is freed", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), heartbeatInterval: 100, maxRunningCallsTotal: 1 });
    const signals: AbortSignal[] = [];
    server.register("hang", function (this: { signal: AbortSignal }) {
      signals.push(this.signal);
      return untilAborted.call(this);
    });
    server.register("ping", () => "pong");
    const zeromq = import.meta.resolve("zeromq");
    const script = `const zmq = await import(${JSON.stringify(zeromq)});
      const raw = new zmq.Dealer({ routingId: "doomed", linger: 0 });
      raw.connect("tcp://127.0.0.1:${server.port}");
      await raw.send(["rpc", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "hang", params: [] })]);
      setInterval(() => undefined, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore" });
    const client = RpcClient.connect({ port: server.port, heartbeatInterval: 100, callTimeout: 20_000 });
    t.after(() => {
      child.kill("SIGKILL");
      client.close();
      server.close();
    });
    await waitFor(() => signals.length === 1, "the child's call to run", 10_000);
    child.kill("SIGKILL");
    await waitFor(() => signals[0]?.aborted === true, "the signal to abort once the caller is lost", 5_000);
    assert.ok(signals[0]?.reason instanceof RpcPeerLostError);
    assert.equal(await client.call("ping"), "pong", "the slot was freed (it was RpcBusyError until runTimeout)");
  });

  it("close() with calls being run on both sides aborts their signals (RpcClosedError)", async (t) => {
    const server = await RpcServer.listen({ port: await freePort() });
    const client = RpcClient.connect({ port: server.port, identity: "worker", callTimeout: 20_000 });
    const signals = new Map<string, AbortSignal>();
    server.register("hang", function (this: { signal: AbortSignal }) {
      signals.set("server", this.signal);
      return untilAborted.call(this);
    });
    client.register("hang", function (this: { signal: AbortSignal }) {
      signals.set("client", this.signal);
      return untilAborted.call(this);
    });
    t.after(() => {
      client.close();
      server.close();
    });
    await waitFor(() => server.clients.includes("worker"), "the client to connect");
    const fromServer = server.call("worker", "hang");
    const fromClient = client.call("hang");
    await waitFor(() => signals.size === 2, "both calls to run");
    client.close();
    assert.ok(signals.get("client")?.aborted && signals.get("client")?.reason instanceof RpcClosedError, "the client's run aborted");
    await assert.rejects(fromClient, RpcClosedError);
    server.close();
    assert.ok(signals.get("server")?.aborted && signals.get("server")?.reason instanceof RpcClosedError, "the server's run aborted");
    await assert.rejects(fromServer, RpcClosedError);
  });
});
