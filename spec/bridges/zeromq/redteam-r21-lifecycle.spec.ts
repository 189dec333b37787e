// Red team r21, RPC lifecycle: calls made while the server is away fail in time, and are not run later
// behind their callers' backs; a server killed with 1,000 calls in flight fails them all by heartbeat;
// close() settles every call on both sides.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RpcClient, RpcClosedError, RpcPeerLostError, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { startRpcPeer } from "./rpc-peer-process.js";

describe("zeromq RPC red team r21: lifecycle", () => {
  it("calls that failed while the server was away are not run when it comes back", async (t) => {
    const port = await freePort();
    const client = RpcClient.connect({ port, callTimeout: 1_000, heartbeatInterval: 100, heartbeatTimeout: 1_500 });
    let server: RpcServer | undefined;
    t.after(() => {
      client.close();
      server?.close();
    });
    const failed = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.call("transfer", i).catch((error: unknown) => error)),
    );
    assert.ok(
      failed.every((error) => error instanceof Error),
      "every call failed: no server",
    );
    let transfers = 0;
    server = await RpcServer.listen({ port });
    server.register("transfer", () => {
      transfers++;
      return "done";
    });
    server.register("ping", () => "pong");
    await waitFor(() => client.connected, "the client found the server", 10_000);
    assert.equal(await client.call("ping"), "pong");
    await sleep(300);
    assert.equal(transfers, 0, "no call reported failed to its caller ran on the server");
  });

  it("a server killed -9 with 1,000 calls in flight: every call fails with RpcPeerLostError within the heartbeat timeout", async (t) => {
    const port = await freePort();
    const child = await startRpcPeer(["server", String(port)]);
    const client = RpcClient.connect({ port, heartbeatInterval: 100, heartbeatTimeout: 500, callTimeout: 60_000 });
    t.after(() => {
      child.kill("SIGKILL");
      client.close();
    });
    await waitFor(() => client.connected, "client connected");
    const calls = Array.from({ length: 1_000 }, () => client.call("hang").catch((error: unknown) => error));
    await sleep(200);
    const killed = Date.now();
    child.kill("SIGKILL");
    const errors = await Promise.all(calls);
    const took = Date.now() - killed;
    assert.ok(
      errors.every((error) => error instanceof RpcPeerLostError),
      "all RpcPeerLostError",
    );
    assert.ok(took < 3_000, `settled ${took} ms after the kill (heartbeat timeout 500 ms)`);
    assert.equal(client.pending, 0);
  });

  it("close() settles every call in flight on both sides with RpcClosedError; close twice and calls after close are safe", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), callTimeout: 60_000 });
    server.register("hang", () => new Promise(() => undefined));
    const client = RpcClient.connect({ port: server.port, identity: "c", callTimeout: 60_000 });
    client.register("hang", () => new Promise(() => undefined));
    t.after(() => {
      client.close();
      server.close();
    });
    await waitFor(() => server.clients.includes("c"), "client known");
    const fromClient = Array.from({ length: 50 }, () => client.call("hang").catch((error: unknown) => error));
    const fromServer = Array.from({ length: 50 }, () => server.call("c", "hang").catch((error: unknown) => error));
    await sleep(100);
    client.close();
    server.close();
    client.close();
    server.close();
    const settled = await Promise.all([...fromClient, ...fromServer]);
    assert.ok(
      settled.every((error) => error instanceof RpcClosedError),
      settled.map(String).join("\n"),
    );
    await assert.rejects(client.call("x"), RpcClosedError);
    await assert.rejects(server.call("c", "x"), RpcClosedError);
  });
});
