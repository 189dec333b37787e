// Red team r21, RPC authentication: an `authenticate` hook that never settles, that returns a user id unfit
// for the wire, or that throws, must refuse that client (RpcAuthError) without holding anyone else's
// handshake behind it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { type Credentials, RpcAuthError, RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep } from "../../helpers/wait-for.js";

const never = new Promise<never>(() => undefined);

function authenticate(_mechanism: string, { username, password }: Credentials): string | undefined | Promise<string | undefined> {
  if (username === "mallory") return never; // a lookup that hangs
  if (username === "long") return "u".repeat(10 * 1_048_576);
  if (username === "ctl") return "user:\u001b[31mroot";
  if (username === "thrower") throw new Error("database down");
  return password === "secret" ? `user:${username}` : undefined;
}

describe("zeromq RPC red team r21: a misbehaving authenticate hook", () => {
  it("one hook call that never settles does not hold other clients' handshakes; it is refused after authenticateTimeout", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate, authenticateTimeout: 5_000 });
    server.register("ping", () => "pong");
    server.on("error", () => undefined);
    const mallory = RpcClient.connect({
      port: server.port,
      plain: { username: "mallory", password: "x" },
      callTimeout: 20_000,
      heartbeatTimeout: 20_000,
    });
    mallory.on("error", () => undefined);
    const malloryCall = mallory.call("ping").catch((error: unknown) => error);
    await sleep(200); // mallory's handshake reaches the ZAP handler first
    const alice = RpcClient.connect({ port: server.port, plain: { username: "alice", password: "secret" }, callTimeout: 2_500 });
    t.after(() => {
      alice.close();
      mallory.close();
      server.close();
    });
    assert.equal(await alice.call("ping"), "pong", "alice is not queued behind mallory's hanging authenticate");
    const refused = await malloryCall;
    assert.ok(refused instanceof RpcAuthError, `got ${String(refused)}`);
  });

  it("a user id of 10 MB, or with control characters, and a hook that throws are refusals (RpcAuthError), not hangs", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate });
    server.on("error", () => undefined);
    server.register("ping", () => "pong");
    const reasons: string[] = [];
    server.on("refused", (decision) => void reasons.push(`${decision.username}: ${decision.reason}`));
    t.after(() => server.close());
    for (const username of ["long", "ctl", "thrower"]) {
      const client = RpcClient.connect({ port: server.port, plain: { username, password: "secret" }, callTimeout: 4_000 });
      client.on("error", () => undefined);
      const error = await client.call("ping").catch((failure: unknown) => failure);
      client.close();
      assert.ok(error instanceof RpcAuthError, `${username}: got ${String(error)}`);
    }
    assert.ok(
      reasons.some((reason) => /^long: .*unfit user id/.test(reason)),
      reasons.join("\n"),
    );
    assert.ok(
      reasons.some((reason) => /^ctl: .*unfit user id/.test(reason)),
      reasons.join("\n"),
    );
    assert.ok(
      reasons.some((reason) => /^thrower: .*database down/.test(reason)),
      reasons.join("\n"),
    );
    assert.deepEqual(server.users, []);
  });

  it("authenticate calls in progress are bounded (maxPendingAuthentications): one more is refused at once", async (t) => {
    const server = await RpcServer.listen({
      port: await freePort(),
      plain: true,
      authenticate,
      maxPendingAuthentications: 1,
      authenticateTimeout: 10_000,
    });
    server.on("error", () => undefined);
    const reasons: string[] = [];
    server.on("refused", (decision) => void reasons.push(`${decision.username}: ${decision.reason}`));
    server.register("ping", () => "pong");
    const mallory = RpcClient.connect({ port: server.port, plain: { username: "mallory", password: "x" }, callTimeout: 20_000 });
    mallory.on("error", () => undefined);
    await sleep(200); // mallory's hanging authenticate holds the one slot
    const alice = RpcClient.connect({ port: server.port, plain: { username: "alice", password: "secret" }, callTimeout: 5_000 });
    alice.on("error", () => undefined);
    t.after(() => {
      alice.close();
      mallory.close();
      server.close();
    });
    const error = await alice.call("ping").catch((failure: unknown) => failure);
    assert.ok(error instanceof RpcAuthError, `got ${String(error)}`);
    assert.ok(
      reasons.some((reason) => /^alice: .*maxPendingAuthentications/.test(reason)),
      reasons.join("\n"),
    );
  });

  it("a malformed login frame is refused without echoing it (V8's JSON.parse message quotes the input)", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate });
    const reported: string[] = [];
    server.on("error", (error) => void reported.push(error.message));
    server.on("refused", (decision) => void reported.push(decision.reason ?? ""));
    const raw = new zmq.Dealer({
      routingId: "raw",
      linger: 0,
      plainUsername: "alice",
      plainPassword: "secret",
      receiveTimeout: 3_000,
    });
    raw.connect(`tcp://127.0.0.1:${server.port}`);
    t.after(() => {
      raw.close();
      server.close();
    });
    await raw.send(["login", '{"username":"alice","password":hunter2-secret}']);
    const [kind, reason] = await raw.receive();
    assert.equal(String(kind), "login-no");
    assert.equal(String(reason), "credentials refused", "the client is told no more than that");
    assert.ok(reported.length > 0 && reported.every((text) => !text.includes("hunter2")), reported.join("\n"));
  });
});
