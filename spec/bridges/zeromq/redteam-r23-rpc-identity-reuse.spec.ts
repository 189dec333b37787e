// Red team r23, RPC: a login belongs to its connection, not to the identity. Identities are chosen by the
// client, so once alice's connection closed, mallory (a valid user of the same server) could connect under
// alice's identity and, until the heartbeat timeout, be served as alice: `server.call("user:alice", …)`
// reached mallory, whether mallory logged in as herself (alice's user id still pointed at the identity) or
// sent raw frames without a login (the identity was still logged in as alice).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { type Authenticate, RpcClient, RpcPeerLostError, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const passwords = new Map([
  ["alice", "a-pass"],
  ["mallory", "m-pass"],
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

describe("zeromq RPC red team r23: an identity reused by another user", () => {
  it("mallory logging in under alice's old identity does not get alice's calls", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate });
    server.register("ping", () => "pong");
    t.after(() => server.close());
    await aliceCameAndWent(server);
    const mallory = RpcClient.connect({ port: server.port, identity: "desk-7", plain: { username: "mallory", password: "m-pass" } });
    t.after(() => mallory.close());
    const received: unknown[] = [];
    mallory.register("secret", (...args) => {
      received.push(args);
      return "mallory's";
    });
    await waitFor(() => mallory.userId === "user:mallory", "mallory's login");
    await assert.rejects(server.call("user:alice", "secret", "for alice only"), RpcPeerLostError);
    assert.deepEqual(received, [], "nothing addressed to alice reached mallory");
    assert.deepEqual(server.users, ["user:mallory"]);
  });

  it("raw frames under alice's old identity, without a login, are asked to log in, and alice's calls do not reach them", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate });
    server.register("ping", () => "pong");
    await aliceCameAndWent(server);
    const raw = new zmq.Dealer({ routingId: "desk-7", linger: 0, plainUsername: "mallory", plainPassword: "m-pass", receiveTimeout: 1_000 });
    t.after(() => {
      raw.close();
      server.close();
    });
    raw.connect(`tcp://127.0.0.1:${server.port}`);
    await raw.send(["rpc", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: [] })]);
    const forAlice = server.call("user:alice", "secret", "for alice only").catch((error: unknown) => error);
    const got: string[][] = [];
    for (;;) {
      try {
        got.push((await raw.receive()).map(String));
      } catch {
        break; // nothing more within a second
      }
    }
    assert.ok(got.length > 0, "the server answered something");
    assert.ok(
      got.every(([kind]) => kind === "login?"),
      `only asked to log in, got ${JSON.stringify(got)}`,
    );
    assert.ok((await forAlice) instanceof RpcPeerLostError);
  });
});
