import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  curveKeyPair,
  RpcAuthError,
  RpcClient,
  RpcMethodNotFoundError,
  RpcPeerLostError,
  RpcRemoteError,
  RpcServer,
  RpcTimeoutError,
  RpcTooManyClientsError,
} from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";
import { startRpcPeer } from "./rpc-peer-process.js";

describe("zeromq RPC: both directions", () => {
  let server: RpcServer;
  let client: RpcClient;
  before(async () => {
    // Heartbeats at 1 s (a peer is lost after 3 s of silence). At 100 ms (lost after 300 ms), a loaded
    // machine (load 20 on 2 cores) starved the peers for 421 ms once, and the slow call below failed with
    // RpcPeerLostError instead of its own 300 ms RpcTimeoutError.
    server = await RpcServer.listen({ port: await freePort(), heartbeatInterval: 1_000, callTimeout: 2_000 });
    server.register("hello", (name) => `Hello ${String(name)}`);
    server.register("fail", () => {
      throw new RangeError("value out of range: 42");
    });
    server.register("slow", () => new Promise((resolve) => setTimeout(() => resolve("late"), 1_000)));
    client = RpcClient.connect({ port: server.port, identity: "worker-1", heartbeatInterval: 1_000, callTimeout: 300 });
    client.register("status", (verbose) => ({ state: "idle", verbose }));
    client.register("crash", async () => {
      throw new TypeError("client-side failure");
    });
  });
  after(() => {
    client.close();
    server.close();
  });

  it("the client calls the server", async () => {
    assert.equal(await client.call("hello", "Charly"), "Hello Charly");
  });

  it("the server calls a connected client by its identity", async () => {
    await waitFor(() => server.clients.includes("worker-1"), "worker-1 known to the server");
    assert.deepEqual(await server.call("worker-1", "status", true), { state: "idle", verbose: true });
  });

  it("remote exceptions arrive as typed errors with the remote name and message", async () => {
    const thrown = await client.call("fail").catch((error: unknown) => error);
    assert.ok(thrown instanceof RpcRemoteError);
    assert.equal(thrown.remoteName, "RangeError");
    assert.equal(thrown.remoteMessage, "value out of range: 42");
    assert.equal(thrown.rpcCode, -32000);
    assert.match(thrown.message, /"fail" failed: RangeError: value out of range: 42/);
    const fromClient = await server.call("worker-1", "crash").catch((error: unknown) => error);
    assert.ok(fromClient instanceof RpcRemoteError);
    assert.equal(fromClient.remoteMessage, "client-side failure");
  });

  it("an unknown procedure is RpcMethodNotFoundError; an unknown client is RpcPeerLostError", async () => {
    await assert.rejects(client.call("nope"), RpcMethodNotFoundError);
    await assert.rejects(server.call("nobody", "status"), RpcPeerLostError);
  });

  it("a call without an answer in time fails with RpcTimeoutError", async () => {
    await assert.rejects(client.call("slow"), (error: unknown) => error instanceof RpcTimeoutError && error.timeout === 300);
  });
});

describe("zeromq RPC: heartbeats find a dead peer", () => {
  it("a killed server fails the client's pending call well before the call timeout", async () => {
    const port = await freePort();
    const child = await startRpcPeer(["server", String(port)]);
    const client = RpcClient.connect({ port, heartbeatInterval: 100, heartbeatTimeout: 400, callTimeout: 30_000 });
    await waitFor(() => client.connected, "client connected");
    const started = Date.now();
    const call = client.call("hang").catch((error: unknown) => error);
    child.kill("SIGKILL");
    const error = await call;
    assert.ok(error instanceof RpcPeerLostError, `got ${String(error)}`);
    assert.ok(Date.now() - started < 10_000, "failed by the heartbeat, not by the 30 s call timeout");
    assert.equal(client.connected, false);
    client.close();
  });

  it("a killed client fails the server's pending call to it", async () => {
    const server = await RpcServer.listen({ port: await freePort(), heartbeatInterval: 100, heartbeatTimeout: 400, callTimeout: 30_000 });
    const gone: string[] = [];
    server.on("disconnect", (identity) => void gone.push(identity));
    const child = await startRpcPeer(["client", String(server.port), "doomed"]);
    await waitFor(() => server.clients.includes("doomed"), "doomed connected");
    const call = server.call("doomed", "hang").catch((error: unknown) => error);
    child.kill("SIGKILL");
    const error = await call;
    assert.ok(error instanceof RpcPeerLostError, `got ${String(error)}`);
    assert.equal(error.peer, "doomed");
    assert.deepEqual(gone, ["doomed"]);
    server.close();
  });
});

describe("zeromq RPC: CURVE with an allow-list", () => {
  const serverKeys = curveKeyPair();
  const allowed = curveKeyPair();
  const stranger = curveKeyPair();
  let server: RpcServer;
  before(async () => {
    server = await RpcServer.listen({
      port: await freePort(),
      curve: { ...serverKeys, allow: [allowed.publicKey] },
      heartbeatInterval: 100,
    });
    server.register("secret", () => "42");
    server.on("error", () => undefined); // each refusal is also an RpcAuthError event (see rpc-auth.spec.ts)
  });
  after(() => server.close());

  it("a client whose public key is on the list gets in, encrypted", async () => {
    const client = RpcClient.connect({ port: server.port, curve: { serverKey: serverKeys.publicKey, ...allowed }, callTimeout: 3_000 });
    assert.equal(await client.call("secret"), "42");
    client.close();
  });

  it("a client with a wrong key is refused: its call fails with RpcAuthError", async () => {
    const client = RpcClient.connect({ port: server.port, curve: { serverKey: serverKeys.publicKey, ...stranger }, callTimeout: 3_000 });
    client.on("error", () => undefined);
    const error = await client.call("secret").catch((failure: unknown) => failure);
    assert.ok(error instanceof RpcAuthError, `got ${String(error)}`);
    assert.equal(error.code, "RPC_AUTH_REFUSED");
    assert.ok(server.stats.refused >= 1, "the server counted the refusal");
    client.close();
  });
});

describe("zeromq RPC: bounded clients", () => {
  it("past maxClients, frames from new identities are dropped and reported once; a lost client makes room", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), maxClients: 2, heartbeatInterval: 100, heartbeatTimeout: 300 });
    server.register("ping", () => "pong");
    const errors: unknown[] = [];
    server.on("error", (error) => void errors.push(error));
    const clients: RpcClient[] = [];
    const connect = (identity: string): RpcClient => {
      const client = RpcClient.connect({ port: server.port, identity, heartbeatInterval: 100, callTimeout: 500 });
      client.on("error", () => undefined);
      clients.push(client);
      return client;
    };
    t.after(() => {
      for (const client of clients) client.close();
      server.close();
    });
    const a = connect("a");
    const b = connect("b");
    assert.equal(await a.call("ping"), "pong");
    assert.equal(await b.call("ping"), "pong");
    const c = connect("c");
    connect("d");
    // Dropped: c hears nothing back (its heartbeats go unanswered too).
    await assert.rejects(c.call("ping"), (error: unknown) => error instanceof RpcTimeoutError || error instanceof RpcPeerLostError);
    assert.deepEqual(server.clients.sort(), ["a", "b"]);
    assert.ok(server.stats.dropped >= 1);
    assert.ok(errors.length >= 1 && errors.every((e) => e instanceof RpcTooManyClientsError));
    await waitFor(() => server.stats.dropped >= 5, "c and d keep knocking");
    assert.equal(errors.length, 1, "reported once while full, not per frame");
    a.close();
    await waitFor(() => !server.clients.includes("a") && server.clients.length === 2, "a lost, c or d admitted", 5_000);
  });
});
