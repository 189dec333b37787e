// Red team r25, RPC: a half-open connection. A relay between client and server cuts the client's side of the
// connection while keeping the server's side open and silent (a NAT rebinding, a link dead without a TCP
// close). The client reconnects under the same identity. libzmq's ROUTER refuses a connection under an
// identity it still holds (router handover off) and never serves that connection, even once the old one
// closes: before r25 the old one never closed (no ZMTP heartbeats on the server), and the client's calls
// failed with RpcPeerLostError for good. Now the server's ZMTP heartbeats close the silent connection, and
// the client makes a connection that hears nothing after its handshake for a heartbeat timeout and an
// interval again.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Authenticate, curveKeyPair, RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { freePort } from "../../helpers/free-port.js";
import { halfOpenRelay } from "../../helpers/half-open-relay.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const authenticate: Authenticate = (_mechanism, { username, password }) => (password === "pw" ? `user:${username}` : undefined);

// Generous on a loaded machine: a ZMTP heartbeat or a PONG late by a few hundred ms must not cut a live link.
const timing = { heartbeatInterval: 200, heartbeatTimeout: 1_500, callTimeout: 1_000 };
// The server closes the silent side within an interval and a timeout of its last traffic, and the client
// makes its refused connection again after a timeout and an interval of silence, just after that: served
// again within about a timeout and two intervals (~2 s). The bound leaves room for a loaded machine (and a
// second round); before r25 it was never served.
const SERVED_WITHIN = 4 * timing.heartbeatTimeout + 2_000;

// Calls until one is answered; how long that took. Fails once `within` ms passed without an answer.
async function servedAgain(call: () => Promise<unknown>, within: number): Promise<{ ms: number; answer: unknown }> {
  const started = Date.now();
  for (;;) {
    try {
      const answer = await call();
      return { ms: Date.now() - started, answer };
    } catch (error) {
      const ms = Date.now() - started;
      if (ms > within) throw new Error(`not served again within ${within} ms (${ms} ms; last: ${String(error)})`);
      await sleep(20); // a failure at once (the client is refused meanwhile) must not spin
    }
  }
}

// none: no login, called by identity; plain: PLAIN login; curve: CURVE with authenticate (a login by proof).
type Mode = "none" | "plain" | "curve";

async function setUp(t: { after(fn: () => unknown): void }, mode: Mode) {
  const serverKeys = curveKeyPair();
  const aliceKeys = curveKeyPair();
  const byKey: Authenticate = (_mechanism, { publicKey }) => (publicKey === aliceKeys.publicKey ? "user:alice" : undefined);
  const server = await RpcServer.listen({
    port: await freePort(),
    ...timing,
    ...(mode === "plain" ? { plain: true, authenticate } : {}),
    ...(mode === "curve" ? { curve: serverKeys, authenticate: byKey } : {}),
  });
  const relay = await halfOpenRelay(server.port);
  const client = RpcClient.connect({
    port: relay.port,
    identity: "desk-7",
    ...timing,
    ...(mode === "plain" ? { plain: { username: "alice", password: "pw" } } : {}),
    ...(mode === "curve" ? { curve: { serverKey: serverKeys.publicKey, ...aliceKeys } } : {}),
  });
  const errors: BerryError[] = [];
  client.on("error", (error) => void errors.push(error));
  server.on("error", (error) => void errors.push(error));
  t.after(async () => {
    client.close();
    server.close();
    await relay.close();
  });
  server.register("ping", () => "pong");
  client.register("who", () => "desk-7 here");
  const logins = mode !== "none";
  const peer = logins ? "user:alice" : "desk-7";
  assert.equal(await client.call("ping"), "pong");
  assert.equal(await server.call(peer, "who"), "desk-7 here");
  return { server, relay, client, errors, peer, logins };
}

describe("zeromq RPC red team r25: a connection whose client side is gone while the server's stays open", () => {
  for (const mode of ["none", "plain", "curve"] as const) {
    const what = { none: "without logins", plain: "with PLAIN logins", curve: "with CURVE logins (authenticate)" }[mode];
    it(`${what}: the client reconnecting under its identity is served again within the bound`, async (t) => {
      const { server, relay, client, errors, peer, logins } = await setUp(t, mode);
      relay.cutClientSide();
      assert.equal(relay.halfOpen, 1);
      const { ms, answer } = await servedAgain(() => client.call("ping"), SERVED_WITHIN);
      assert.equal(answer, "pong");
      // The server closed the silent side itself (its ZMTP heartbeats): nothing here closed it.
      assert.equal(relay.closedByServer, 1, "the server closed the half-open connection");
      assert.equal(relay.halfOpen, 0);
      // And it reaches the client on its new connection.
      assert.equal(await server.call(peer, "who"), "desk-7 here");
      if (logins) {
        assert.equal(client.userId, "user:alice");
        assert.deepEqual(server.users, ["user:alice"]);
      }
      assert.deepEqual(
        errors.filter((error) => error.name !== "RpcPeerLostError"),
        [],
      );
      t.diagnostic(`served again ${ms} ms after the cut`);
    });
  }

  // Review r25: a connection that had served was never made again for a silence (so that a busy server
  // does not see every client reconnect), and the client had no ZMTP heartbeats: a dead link ending without
  // a TCP close either way (a host powered off) kept the client on it for as long as TCP took to give up.
  for (const mode of ["none", "plain"] as const) {
    it(`a dead link (nothing passes either way, nothing closed; ${mode === "none" ? "without logins" : "PLAIN logins"}): the client is served again on a new connection`, async (t) => {
      const { server, relay, client, peer } = await setUp(t, mode);
      relay.silence();
      const { ms, answer } = await servedAgain(() => client.call("ping"), SERVED_WITHIN);
      assert.equal(answer, "pong");
      assert.equal(await server.call(peer, "who"), "desk-7 here");
      t.diagnostic(`served again ${ms} ms after the link died`);
    });
  }

  it("a handshake held by a slow authenticate (twice the heartbeat timeout) is not cut by the client", async (t) => {
    let handshakes = 0;
    const slow: Authenticate = async (mechanism, credentials) => {
      if (credentials.address !== "") {
        handshakes++; // ZAP, at the handshake (a login frame has no address)
        await sleep(2 * timing.heartbeatTimeout);
      }
      return authenticate(mechanism, credentials);
    };
    const server = await RpcServer.listen({ port: await freePort(), ...timing, plain: true, authenticate: slow });
    const client = RpcClient.connect({ port: server.port, ...timing, plain: { username: "alice", password: "pw" } });
    t.after(() => {
      client.close();
      server.close();
    });
    server.register("ping", () => "pong");
    // Calls made before the handshake is decided fail when the client's heartbeat timeout passes (as before).
    const { answer } = await servedAgain(() => client.call("ping"), 8 * timing.heartbeatTimeout);
    assert.equal(answer, "pong");
    assert.equal(handshakes, 1, "one handshake: the client did not make its connection again meanwhile");
  });

  it("a silent server side is closed within its heartbeat interval and timeout, whatever the client does", async (t) => {
    const { relay, client } = await setUp(t, "none");
    client.close(); // no reconnection: only the server's heartbeats can end the half-open side
    relay.cutClientSide();
    const cut = Date.now();
    await waitFor(
      () => relay.closedByServer === 1,
      "the server closing the half-open connection",
      3 * (timing.heartbeatInterval + timing.heartbeatTimeout),
    );
    t.diagnostic(`closed ${Date.now() - cut} ms after the cut`);
  });
});
