// Red team r25, RPC: the password throttle remembered each refused login frame's username whole, up to
// 10,000 sources. PLAIN bounds a username to 255 bytes at the handshake, but a login frame's JSON could name
// any length: one client holding valid credentials sent 2,000 logins naming 60 KB users and the server's
// heap grew by ~115 MiB (600 MB at the bound). A login frame with a username or password over PLAIN's
// 255 bytes is now refused before the hook and the throttle see it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { type Authenticate, RpcServer, type ZapDecision } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";

describe("zeromq RPC red team r25: login frames", () => {
  it("a username or password over 255 bytes is refused before authenticate and the throttle see it", async (t) => {
    const seen: string[] = [];
    const authenticate: Authenticate = (_mechanism, { username, password }) => {
      seen.push(username ?? "");
      return username === "alice" && password === "a-pass" ? "user:alice" : undefined;
    };
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate, loginRetryDelay: 0 });
    server.on("error", () => undefined);
    t.after(() => server.close());
    const refusals: ZapDecision[] = [];
    server.on("refused", (decision) => void refusals.push(decision));
    const dealer = new zmq.Dealer({ routingId: "desk-1", plainUsername: "alice", plainPassword: "a-pass", linger: 0, receiveTimeout: 5_000 });
    t.after(() => dealer.close());
    dealer.connect(`tcp://127.0.0.1:${server.port}`);
    const long = "u".repeat(60_000);
    for (const credentials of [
      { username: long, password: "guess" },
      { username: "alice", password: "p".repeat(256) },
      { username: "é".repeat(128), password: "guess" }, // 256 bytes in UTF-8
    ]) {
      await dealer.send(["login", JSON.stringify(credentials)]);
      assert.deepEqual((await dealer.receive()).map(String), ["login-no", "credentials refused"]);
    }
    assert.ok(
      seen.every((username) => Buffer.byteLength(username) <= 255),
      `authenticate saw usernames of ${seen.map((username) => Buffer.byteLength(username)).join(", ")} bytes`,
    );
    assert.equal(refusals.length, 3);
    for (const refusal of refusals) {
      assert.match(refusal.reason ?? "", /over 255 bytes/);
      assert.ok((refusal.username ?? "").length <= 255, "the refusal does not carry the long name either");
    }
    // A name of 255 bytes is a name like any other.
    await dealer.send(["login", JSON.stringify({ username: "alice", password: "a-pass" })]);
    assert.deepEqual((await dealer.receive()).map(String), ["login-ok", "user:alice"]);
  });
});
