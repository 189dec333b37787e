// r30 red team, RPC: the server keys clients by their routing id as a string, decoded as UTF-8. Bytes that
// are no UTF-8 decode lossily (each bad byte to U+FFFD), so a peer could name a client's identity with other
// bytes: bob, logged in as himself on the raw routing id `desk-` + 0xFF, was taken for the client "desk-\uFFFD"
// (alice's): his connection suspended her login, and the answer he sent for the server's call to user:alice
// (call ids count from 1) was served as hers once she logged in again. Now a frame whose routing id is no
// UTF-8 is refused (counted in stats.protocolErrors, reported).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { RpcClient, RpcServer, ZmqProtocolError } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("zeromq RPC red team r30: routing ids that are no UTF-8", () => {
  it("a peer whose routing id decodes to a logged-in client's identity cannot answer the server's calls to that client", async (t) => {
    const server = await RpcServer.listen({
      port: await freePort(),
      plain: true,
      authenticate: (_mechanism, { username, password }) => (password === "pw" ? `user:${username}` : undefined),
    });
    const errors: Error[] = [];
    server.on("error", (error) => void errors.push(error));
    const alice = RpcClient.connect({ port: server.port, identity: "desk-\uFFFD", plain: { username: "alice", password: "pw" } });
    alice.on("error", () => undefined);
    alice.register("confirm", () => new Promise((resolve) => setTimeout(() => resolve("alice confirms"), 1_500)));
    const bob = new zmq.Dealer({
      // zeromq.js types a routing id as a string, and takes bytes: these decode to "desk-\uFFFD".
      routingId: Buffer.concat([Buffer.from("desk-"), Buffer.from([0xff])]) as unknown as string,
      linger: 0,
      plainUsername: "bob",
      plainPassword: "pw",
    });
    t.after(() => {
      bob.close();
      alice.close();
      server.close();
    });
    await waitFor(() => server.users.includes("user:alice"), "alice logged in");
    const confirmed = server.call("user:alice", "confirm");
    bob.connect(`tcp://127.0.0.1:${server.port}`);
    await new Promise<void>((resolve) => bob.events.on("handshake", () => resolve()));
    await bob.send(["rpc", JSON.stringify({ jsonrpc: "2.0", id: 1, result: "forged by bob" })]);
    assert.equal(await confirmed, "alice confirms");
    await waitFor(() => server.stats.protocolErrors >= 1, "bob's frames refused");
    assert.ok(errors.some((error) => error instanceof ZmqProtocolError && /routing id is not UTF-8/.test(error.message)));
  });

  it("a valid UTF-8 routing id (a string identity) is served as before", async (t) => {
    const server = await RpcServer.listen({ port: await freePort() });
    server.register("ping", () => "pong");
    const client = RpcClient.connect({ port: server.port, identity: "bureau-\u00e9-\u{1F600}" });
    t.after(() => {
      client.close();
      server.close();
    });
    assert.equal(await client.call("ping"), "pong");
    assert.deepEqual(server.clients, ["bureau-\u00e9-\u{1F600}"]);
  });
});
