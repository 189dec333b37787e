// Red team r25, RPC: what a server holds for a login whose connection is away is bounded (8 MiB a login, 64
// MiB for all); a server.call to that user whose frame found no room was dropped and counted, but the call
// itself waited its whole callTimeout, as if it had been sent. It now fails at once with the reason
// (RpcPeerLostError naming the user): a frame over the room can never go out.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Authenticate, RpcClient, RpcPeerLostError, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { tcpGate } from "../../helpers/tcp-gate.js";
import { sleep } from "../../helpers/wait-for.js";

const authenticate: Authenticate = (_mechanism, { username, password }) => (password === "pw" ? `user:${username}` : undefined);

describe("zeromq RPC red team r25: a call that cannot be held for an absent login", () => {
  it("fails at once with RpcPeerLostError, not at its timeout; a call that fits is held and answered", async (t) => {
    const timing = { heartbeatInterval: 100, heartbeatTimeout: 10_000, maxMessageBytes: 16 * 1024 * 1024 };
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate, ...timing, callTimeout: 30_000 });
    const gate = await tcpGate(server.port);
    const alice = RpcClient.connect({ port: gate.port, identity: "desk-7", plain: { username: "alice", password: "pw" }, ...timing });
    server.on("error", () => undefined);
    alice.on("error", () => undefined);
    t.after(async () => {
      alice.close();
      server.close();
      await gate.close();
    });
    server.register("ping", () => "pong");
    alice.register("size", (text: unknown) => String(text).length);
    assert.equal(await alice.call("ping"), "pong");
    assert.equal(await server.call("user:alice", "size", "x"), 1);
    gate.shut();
    gate.open = false;
    await sleep(500); // the server reads the disconnection: alice's login is suspended
    const started = Date.now();
    const big = "x".repeat(9 * 1024 * 1024); // over the 8 MiB held for one login
    const refused = await server.call("user:alice", "size", big).then(
      () => "answered",
      (error: unknown) => error,
    );
    assert.ok(refused instanceof RpcPeerLostError, String(refused));
    assert.ok(Date.now() - started < 10_000, `failed after ${Date.now() - started} ms, not at once`);
    const small = server.call("user:alice", "size", "abc"); // fits: held until she is back
    gate.open = true;
    assert.equal(await small, 3);
  });
});
