// RPC authentication: a failed handshake is an RpcAuthError at once on both sides; ZAP PLAIN with an
// `authenticate` hook; the server reaches a client by its authenticated user id, which a client cannot claim.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BerryError } from "../../../lib/errors.js";
import { type Credentials, curveKeyPair, RpcAuthError, RpcClient, RpcPeerLostError, RpcServer, type ZapDecision } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

function errorsOf(end: { on(event: "error", fn: (error: BerryError) => void): unknown }): BerryError[] {
  const errors: BerryError[] = [];
  end.on("error", (error) => void errors.push(error));
  return errors;
}

describe("zeromq RPC: a failed handshake is reported at once", () => {
  it("a wrong CURVE server key fails the call with RpcAuthError on the client and counts a refusal on the server", async (t) => {
    const serverKeys = curveKeyPair();
    const client = curveKeyPair();
    const server = await RpcServer.listen({ port: await freePort(), curve: { ...serverKeys, allow: [client.publicKey] }, heartbeatTimeout: 30_000 });
    server.register("secret", () => "42");
    const serverErrors = errorsOf(server);
    const refused: ZapDecision[] = [];
    server.on("refused", (decision) => void refused.push(decision));
    const wrong = RpcClient.connect({
      port: server.port,
      curve: { serverKey: curveKeyPair().publicKey, ...client },
      callTimeout: 30_000,
      heartbeatTimeout: 30_000,
    });
    const clientErrors = errorsOf(wrong);
    t.after(() => {
      wrong.close();
      server.close();
    });
    const started = Date.now();
    const error = await wrong.call("secret").catch((failure: unknown) => failure);
    assert.ok(error instanceof RpcAuthError, `got ${String(error)}`);
    assert.match(error.message, /wrong server key/);
    assert.ok(Date.now() - started < 5_000, "at once, not after a 30 s heartbeat or call timeout");
    assert.ok(clientErrors.some((e) => e instanceof RpcAuthError), "an error event on the client");
    await waitFor(() => server.stats.refused >= 1, "the server counted the refusal");
    assert.ok(serverErrors.some((e) => e instanceof RpcAuthError && /CURVE/.test(e.message)), "an RpcAuthError event on the server");
    assert.equal(refused[0]?.mechanism, "CURVE");
  });
});

describe("zeromq RPC: ZAP PLAIN and the authenticate hook", () => {
  const users: Record<string, string> = { alice: "wonderland", bob: "builder" };
  const authenticate = (mechanism: string, credentials: Credentials): string | undefined =>
    mechanism === "PLAIN" && credentials.username !== undefined && users[credentials.username] === credentials.password
      ? `user:${credentials.username}`
      : undefined;

  it("a client with the right password gets in; the server calls it by its user id, not by a claimed identity", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate, heartbeatInterval: 100 });
    server.register("whoami", () => "server");
    errorsOf(server);
    const alice = RpcClient.connect({ port: server.port, identity: "user:bob", plain: { username: "alice", password: "wonderland" }, heartbeatInterval: 100 });
    const bob = RpcClient.connect({ port: server.port, identity: "alice-device", plain: { username: "bob", password: "builder" }, heartbeatInterval: 100 });
    alice.register("name", () => "I am alice");
    bob.register("name", () => "I am bob");
    t.after(() => {
      alice.close();
      bob.close();
      server.close();
    });
    assert.equal(await alice.call("whoami"), "server");
    assert.equal(await bob.call("whoami"), "server");
    assert.equal(alice.userId, "user:alice");
    await waitFor(() => server.users.length === 2, "both logged in");
    // alice chose the identity "user:bob": calls by user id still reach the real bob.
    assert.equal(await server.call("user:bob", "name"), "I am bob");
    assert.equal(await server.call("user:alice", "name"), "I am alice");
    await assert.rejects(server.call("alice-device", "name"), RpcPeerLostError, "identities are not user ids");
  });

  it("a PLAIN client logs in again by itself after the server restarted on the same port", async (t) => {
    const port = await freePort();
    const listen = async (): Promise<RpcServer> => {
      const server = await RpcServer.listen({ port, plain: true, authenticate, heartbeatInterval: 100 });
      server.on("error", () => undefined);
      return server;
    };
    let server = await listen();
    const alice = RpcClient.connect({ port, plain: { username: "alice", password: "wonderland" }, heartbeatInterval: 100, callTimeout: 5_000 });
    alice.on("error", () => undefined);
    alice.register("name", () => "I am alice");
    t.after(() => {
      alice.close();
      server.close();
    });
    await waitFor(() => server.users.includes("user:alice"), "first login");
    server.close();
    // close() does not wait for libzmq to release the port: bind again until it is free (bounded).
    for (let tries = 0; ; tries++) {
      try {
        server = await listen();
        break;
      } catch (error) {
        if ((error as { code?: unknown }).code !== "EADDRINUSE" || tries >= 50) throw error;
        await sleep(50);
      }
    }
    await waitFor(() => server.users.includes("user:alice"), "login again after the restart", 10_000);
    assert.equal(await server.call("user:alice", "name"), "I am alice");
  });

  it("a wrong password fails at once with RpcAuthError on both sides; authenticate saw the credentials", async (t) => {
    const seen: Credentials[] = [];
    const server = await RpcServer.listen({
      port: await freePort(),
      plain: true,
      authenticate: async (mechanism, credentials) => {
        seen.push(credentials);
        return authenticate(mechanism, credentials);
      },
    });
    const serverErrors = errorsOf(server);
    const intruder = RpcClient.connect({ port: server.port, plain: { username: "alice", password: "guess" }, callTimeout: 30_000, heartbeatTimeout: 30_000 });
    const clientErrors = errorsOf(intruder);
    t.after(() => {
      intruder.close();
      server.close();
    });
    const started = Date.now();
    await assert.rejects(intruder.call("anything"), RpcAuthError);
    assert.ok(Date.now() - started < 5_000, "at once");
    assert.ok(clientErrors.some((e) => e instanceof RpcAuthError));
    await waitFor(() => serverErrors.some((e) => e instanceof RpcAuthError), "the server's RpcAuthError event");
    assert.ok(server.stats.refused >= 1);
    assert.equal(seen[0]?.username, "alice");
    assert.equal(seen[0]?.password, "guess");
    assert.equal(server.users.length, 0);
  });

  it("authenticate names CURVE clients too, without an allow-list", async (t) => {
    const serverKeys = curveKeyPair();
    const known = curveKeyPair();
    const server = await RpcServer.listen({
      port: await freePort(),
      curve: serverKeys,
      authenticate: (mechanism, { publicKey }) => (mechanism === "CURVE" && publicKey === known.publicKey ? "known" : undefined),
    });
    server.register("secret", () => "42");
    errorsOf(server);
    const ok = RpcClient.connect({ port: server.port, curve: { serverKey: serverKeys.publicKey, ...known } });
    const stranger = RpcClient.connect({ port: server.port, curve: { serverKey: serverKeys.publicKey, ...curveKeyPair() } });
    errorsOf(stranger);
    t.after(() => {
      ok.close();
      stranger.close();
      server.close();
    });
    assert.equal(await ok.call("secret"), "42");
    await assert.rejects(stranger.call("secret"), RpcAuthError);
  });

  it("refuses options that cannot work, naming them", async () => {
    await assert.rejects(RpcServer.listen({ port: 0, plain: true }), /invalid authenticate/);
    await assert.rejects(RpcServer.listen({ port: 0, curve: curveKeyPair() }), /invalid curve.allow/);
  });
});

describe("zeromq RPC: CURVE clients logged in by user id", () => {
  it("with authenticate, a CURVE client proves its secret key and is called by its user id; a claimed identity does not count", async (t) => {
    const serverKeys = curveKeyPair();
    const alice = curveKeyPair();
    const bob = curveKeyPair();
    const names = new Map([
      [alice.publicKey, "alice"],
      [bob.publicKey, "bob"],
    ]);
    const server = await RpcServer.listen({
      port: await freePort(),
      curve: serverKeys,
      authenticate: (mechanism, { publicKey }) => (mechanism === "CURVE" ? names.get(publicKey ?? "") : undefined),
      heartbeatInterval: 100,
    });
    server.register("ping", () => "pong");
    errorsOf(server);
    const logins: string[] = [];
    server.on("login", (_identity, userId) => void logins.push(userId));
    const a = RpcClient.connect({ port: server.port, identity: "bob", curve: { serverKey: serverKeys.publicKey, ...alice }, heartbeatInterval: 100 });
    const b = RpcClient.connect({ port: server.port, identity: "b-device", curve: { serverKey: serverKeys.publicKey, ...bob }, heartbeatInterval: 100 });
    a.register("name", () => "I am alice");
    b.register("name", () => "I am bob");
    t.after(() => {
      a.close();
      b.close();
      server.close();
    });
    assert.equal(await a.call("ping"), "pong");
    assert.equal(await b.call("ping"), "pong");
    assert.equal(a.userId, "alice");
    await waitFor(() => server.users.length === 2, "both logged in");
    assert.deepEqual(logins.sort(), ["alice", "bob"]);
    assert.equal(await server.call("bob", "name"), "I am bob", "alice's identity bob does not make her bob");
    assert.equal(await server.call("alice", "name"), "I am alice");
  });

  it("an allow-list-only CURVE server needs no login: its clients call at once and are called by identity", async (t) => {
    const serverKeys = curveKeyPair();
    const client = curveKeyPair();
    const server = await RpcServer.listen({ port: await freePort(), curve: { ...serverKeys, allow: [client.publicKey] } });
    const c = RpcClient.connect({ port: server.port, identity: "w1", curve: { serverKey: serverKeys.publicKey, ...client } });
    c.register("name", () => "w1");
    server.register("ping", () => "pong");
    t.after(() => {
      c.close();
      server.close();
    });
    assert.equal(await c.call("ping"), "pong");
    assert.equal(c.userId, undefined);
    assert.equal(await server.call("w1", "name"), "w1");
  });
});
