// r30 red team, RPC: a listener of an RpcServer's or RpcClient's own events (connect, disconnect, login,
// logout, refused) that throws must not stop it. Thrown out of the receive loop, it ended the loop: the
// server (or client) stayed bound and heartbeating but read no frame again, and every later call timed out.
// Thrown from a heartbeat timer (a client or server lost) it was an uncaught exception, and from the ZAP
// handler or a login (refused, login) an unhandled rejection: the process crashed. Now each throw is
// reported (RpcListenerError on `error`) and the listeners after it still hear the event.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RpcClient, RpcListenerError, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

function listenerErrors(errors: Error[]): string[] {
  return errors.filter((error) => error instanceof RpcListenerError).map((error) => (error as RpcListenerError).event);
}

describe("zeromq RPC red team r30: event listeners that throw", () => {
  it("a server's connect listener that throws: the server keeps serving, the next listener hears it, the throw is reported", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), heartbeatInterval: 100 });
    server.register("ping", () => "pong");
    const errors: Error[] = [];
    server.on("error", (error) => void errors.push(error));
    server.on("connect", () => {
      throw new Error("connect listener bug");
    });
    const heard: string[] = [];
    server.on("connect", (identity) => void heard.push(identity));
    const clients = ["first", "second"].map((identity) =>
      RpcClient.connect({ port: server.port, identity, callTimeout: 2_000, heartbeatInterval: 100 }),
    );
    t.after(() => {
      for (const client of clients) client.close();
      server.close();
    });
    for (const client of clients) assert.equal(await client.call("ping"), "pong");
    assert.deepEqual(heard.sort(), ["first", "second"]);
    assert.deepEqual(listenerErrors(errors), ["connect", "connect"]);
    assert.match(errors[0]?.message ?? "", /'connect' event threw: .*connect listener bug/);
  });

  it("server listeners of refused, login, logout and disconnect that throw: no crash, every throw reported, still serving", async (t) => {
    const server = await RpcServer.listen({
      port: await freePort(),
      heartbeatInterval: 100,
      plain: true,
      loginRetryDelay: 0,
      authenticate: (_mechanism, { username, password }) => (password === "right" ? `user:${username}` : undefined),
    });
    server.register("ping", () => "pong");
    const errors: Error[] = [];
    server.on("error", (error) => void errors.push(error));
    const events = ["refused", "login", "logout", "disconnect"] as const;
    for (const event of events)
      server.on(event, () => {
        throw new Error(`${event} listener bug`);
      });
    const opened: RpcClient[] = [];
    const connect = (username: string, password: string): RpcClient => {
      const client = RpcClient.connect({
        port: server.port,
        plain: { username, password },
        callTimeout: 2_000,
        heartbeatInterval: 100,
      });
      client.on("error", () => undefined);
      opened.push(client);
      return client;
    };
    t.after(() => {
      for (const client of opened) client.close();
      server.removeAllListeners("logout"); // close() throws what a logout listener throws (r25)
      server.close();
    });
    // Refused by ZAP (the `refused` listener throws in the ZAP handler's decision).
    const intruder = connect("mallory", "wrong");
    await assert.rejects(intruder.call("ping"), { code: "RPC_AUTH_REFUSED" });
    intruder.close();
    // Logged in (the `login` listener throws in the login check), then gone: lost by heartbeat (`logout` and
    // `disconnect` from the heartbeat timer).
    const alice = connect("alice", "right");
    assert.equal(await alice.call("ping"), "pong");
    alice.close();
    await waitFor(() => server.stats.lost >= 1, "alice lost by heartbeat", 3_000);
    await waitFor(() => listenerErrors(errors).includes("disconnect"), "the disconnect listener's throw reported", 3_000);
    const bob = connect("bob", "right");
    assert.equal(await bob.call("ping"), "pong", "still serving");
    for (const event of events) assert.ok(listenerErrors(errors).includes(event), `the ${event} listener's throw is reported`);
  });

  it("a client's connect and disconnect listeners that throw: the client keeps reading answers, no crash, both reported", async (t) => {
    const port = await freePort();
    const server = await RpcServer.listen({ port, heartbeatInterval: 100 });
    server.register("ping", () => "pong");
    const client = RpcClient.connect({ port, callTimeout: 2_000, heartbeatInterval: 100 });
    const errors: Error[] = [];
    client.on("error", (error) => void errors.push(error));
    for (const event of ["connect", "disconnect"] as const)
      client.on(event, () => {
        throw new Error(`${event} listener bug`);
      });
    let disconnects = 0;
    client.on("disconnect", () => void disconnects++);
    t.after(() => client.close());
    assert.equal(await client.call("ping"), "pong");
    assert.equal(await client.call("ping"), "pong", "answers are still read after the throw");
    server.close(); // the client loses it by heartbeat: `disconnect` from its heartbeat timer
    await waitFor(() => disconnects === 1, "the listener after the throwing one hears disconnect", 3_000);
    assert.deepEqual(listenerErrors(errors), ["connect", "disconnect"]);
  });
});
