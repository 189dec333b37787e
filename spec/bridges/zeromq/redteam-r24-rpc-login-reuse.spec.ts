// Red team r24, RPC: a login belongs to its connection, not to the identity (a known gap of r23; the r23
// attempt was withdrawn). Identities are the clients' to choose: once alice's connection closed, eve (a
// valid user of the same server) connecting under alice's identity before the heartbeat timeout was served
// as alice (raw frames, no login) or got the calls for `user:alice` (by logging in as herself), and a login
// of alice's still being checked when she left was applied to eve's connection.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { type Authenticate, RpcClient, RpcPeerLostError, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { tcpGate } from "../../helpers/tcp-gate.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const passwords = new Map([
  ["alice", "a-pass"],
  ["eve", "e-pass"],
]);
const authenticate: Authenticate = (_mechanism, { username, password }) =>
  passwords.get(username ?? "") === password ? `user:${username}` : undefined;

async function aliceCameAndWent(server: RpcServer): Promise<void> {
  const alice = RpcClient.connect({ port: server.port, identity: "desk-7", plain: { username: "alice", password: "a-pass" } });
  alice.register("secret", () => "alice's own");
  assert.equal(await alice.call("ping"), "pong");
  assert.equal(await server.call("user:alice", "secret"), "alice's own");
  alice.close();
  await sleep(50); // well within the heartbeat timeout (1.5 s)
}

// Every frame `dealer` gets until it is silent for its receive timeout.
async function drain(dealer: zmq.Dealer, got: string[][]): Promise<void> {
  for (;;) {
    try {
      got.push((await dealer.receive()).map(String));
    } catch {
      return; // nothing more within its receive timeout
    }
  }
}

// Resolves `released` when `release` is called.
function latch(): { released: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { released, release };
}

/** A raw DEALER under the identity "desk-7" with `username`'s PLAIN credentials, connected to `port`. */
function desk7(port: number, username: "alice" | "eve", receiveTimeout: number): zmq.Dealer {
  const dealer = new zmq.Dealer({
    routingId: "desk-7",
    linger: 0,
    plainUsername: username,
    plainPassword: passwords.get(username) as string,
    receiveTimeout,
  });
  dealer.connect(`tcp://127.0.0.1:${port}`);
  return dealer;
}

/**
 * Calls user:alice's "secret" on `server`, drains `dealer` (under her old identity), and asserts that the
 * server answered it only by asking it to log in, and that the call found alice lost.
 */
async function assertOnlyAskedToLogIn(server: RpcServer, dealer: zmq.Dealer): Promise<void> {
  const forAlice = server.call("user:alice", "secret", "for alice only").catch((error: unknown) => error);
  const got: string[][] = [];
  await drain(dealer, got);
  assert.ok(got.length > 0, "the server answered something");
  assert.ok(
    got.every(([kind]) => kind === "login?"),
    `only asked to log in, got ${JSON.stringify(got)}`,
  );
  assert.ok((await forAlice) instanceof RpcPeerLostError, `got ${String(await forAlice)}`);
}

const ping = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: [] });

describe("zeromq RPC red team r24: a login belongs to its connection", () => {
  it("eve logging in under alice's old identity does not get alice's calls", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate });
    server.register("ping", () => "pong");
    t.after(() => server.close());
    await aliceCameAndWent(server);
    const eve = RpcClient.connect({ port: server.port, identity: "desk-7", plain: { username: "eve", password: "e-pass" } });
    t.after(() => eve.close());
    const received: unknown[] = [];
    eve.register("secret", (...args) => {
      received.push(args);
      return "eve's";
    });
    await waitFor(() => eve.userId === "user:eve", "eve's login");
    await assert.rejects(server.call("user:alice", "secret", "for alice only"), RpcPeerLostError);
    assert.deepEqual(received, [], "nothing addressed to alice reached eve");
    assert.deepEqual(server.users, ["user:eve"]);
  });

  it("raw frames under alice's old identity, without a login, are not served, and alice's calls do not reach them", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate });
    server.register("ping", () => "pong");
    await aliceCameAndWent(server);
    const raw = desk7(server.port, "eve", 2_000);
    t.after(() => {
      raw.close();
      server.close();
    });
    await raw.send(["rpc", ping]);
    await raw.send(["hb"]);
    await assertOnlyAskedToLogIn(server, raw);
  });

  it("a slow login of alice's connection is not applied to the next connection under her identity", async (t) => {
    let slowOnce = true;
    const server = await RpcServer.listen({
      port: await freePort(),
      plain: true,
      authenticate: async (mechanism, credentials) => {
        // The login frame (no address; the ZAP handshake has one) of alice: checked slowly, once.
        if (credentials.address === "" && credentials.username === "alice" && slowOnce) {
          slowOnce = false;
          await sleep(1_000);
        }
        return authenticate(mechanism, credentials);
      },
    });
    server.register("ping", () => "pong");
    t.after(() => server.close());
    const alice = new zmq.Dealer({ routingId: "desk-7", linger: 0, plainUsername: "alice", plainPassword: "a-pass" });
    alice.connect(`tcp://127.0.0.1:${server.port}`);
    await alice.send(["login", JSON.stringify({ username: "alice", password: "a-pass" })]);
    await waitFor(() => server.clients.includes("desk-7"), "alice's login frame read");
    alice.close(); // while authenticate runs
    await sleep(50);
    const eve = desk7(server.port, "eve", 2_500);
    t.after(() => eve.close());
    await eve.send(["hb"]);
    await sleep(1_200); // alice's login has been decided
    await eve.send(["rpc", ping]);
    await assertOnlyAskedToLogIn(server, eve);
    assert.ok(server.stats.voidLogins >= 1, `voidLogins ${server.stats.voidLogins}`);
  });

  it("what was held for alice while she was away is dropped, not sent, when eve logs in under her identity", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate, heartbeatTimeout: 4_000 });
    server.on("error", () => undefined);
    const logouts: [string, string, number][] = [];
    server.on("logout", (...args) => void logouts.push(args));
    const { released, release } = latch();
    server.register("ping", () => "pong");
    server.register("slow", async () => {
      await released;
      return "alice's answer";
    });
    const gate = await tcpGate(server.port);
    const alice = RpcClient.connect({
      port: gate.port,
      identity: "desk-7",
      plain: { username: "alice", password: "a-pass" },
      heartbeatTimeout: 4_000,
    });
    alice.on("error", () => undefined);
    alice.register("secret", () => "alice's own");
    t.after(async () => {
      alice.close();
      server.close();
      await gate.close();
    });
    assert.equal(await alice.call("ping"), "pong");
    void alice.call("slow").catch(() => undefined); // alice does not come back for it
    await sleep(100); // the server runs it
    gate.shut(); // alice is cut off, for good
    await sleep(300);
    release(); // her answer is ready: held for her
    const forAlice = server.call("user:alice", "secret", "for alice only").catch((error: unknown) => error);
    await sleep(100);
    const eve = desk7(server.port, "eve", 1_500);
    t.after(() => eve.close());
    await eve.send(["login?"]);
    await eve.send(["login", JSON.stringify({ username: "eve", password: "e-pass" })]);
    const got: string[][] = [];
    await drain(eve, got);
    assert.ok(
      got.some(([kind, userId]) => kind === "login-ok" && userId === "user:eve"),
      `eve logged in, got ${JSON.stringify(got)}`,
    );
    const leaked = got.filter(([kind]) => kind === "rpc");
    assert.deepEqual(leaked, [], "nothing held for alice went to eve");
    const lost = await forAlice;
    assert.ok(lost instanceof RpcPeerLostError && lost.peer === "user:alice", `got ${String(lost)}`);
    assert.ok(server.stats.undelivered >= 2, `undelivered ${server.stats.undelivered}`);
    assert.deepEqual(
      logouts.map(([identity, userId]) => [identity, userId]),
      [["desk-7", "user:alice"]],
    );
    assert.deepEqual(server.users, ["user:eve"]);
  });

  it("a login whose connection ended and that nobody proves again within heartbeatTimeout ends", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate, heartbeatTimeout: 1_000 });
    server.register("ping", () => "pong");
    const logouts: [string, string, number][] = [];
    server.on("logout", (...args) => void logouts.push(args));
    t.after(() => server.close());
    const raw = desk7(server.port, "alice", 1_000);
    await raw.send(["login", JSON.stringify({ username: "alice", password: "a-pass" })]);
    assert.deepEqual((await raw.receive()).map(String), ["login-ok", "user:alice"]);
    raw.close();
    await sleep(100);
    // Eve connects under desk-7, and keeps the identity known (heartbeats), but never logs in as alice.
    const eve = desk7(server.port, "eve", 100);
    t.after(() => eve.close());
    const forAlice = server.call("user:alice", "secret").catch((error: unknown) => error);
    const got: string[][] = [];
    const until = Date.now() + 2_000;
    while (Date.now() < until) {
      await eve.send(["hb"]);
      await eve.send(["rpc", ping]);
      await drain(eve, got);
    }
    assert.ok(got.length > 0 && got.every(([kind]) => kind === "login?"), `only asked to log in, got ${JSON.stringify(got)}`);
    assert.ok((await forAlice) instanceof RpcPeerLostError, `got ${String(await forAlice)}`);
    assert.deepEqual(
      logouts.map(([identity, userId]) => [identity, userId]),
      [["desk-7", "user:alice"]],
    );
    assert.deepEqual(server.users, []);
  });
});
