// Red team r21, RPC: two connections logged in as the same user. The newest login wins (documented); the
// replaced one used to be asked to log in again at its next heartbeat, took the user back, and the other
// did the same: the user id changed hands every heartbeat, running `authenticate` each time.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RpcAuthError, RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("zeromq RPC red team r21: one user on two connections", () => {
  it("the newest login keeps the user id; the replaced client's calls fail with RpcAuthError; no flapping", async (t) => {
    let authentications = 0;
    const server = await RpcServer.listen({
      port: await freePort(),
      plain: true,
      heartbeatInterval: 100,
      heartbeatTimeout: 3_000, // ten heartbeats in the second below, none lost on a loaded machine
      authenticate: (_mechanism, { username, password }) => {
        authentications++;
        return password === "pw" ? `user:${username}` : undefined;
      },
    });
    server.on("error", () => undefined);
    const logins: string[] = [];
    server.on("login", (identity) => void logins.push(identity));
    const laptop = RpcClient.connect({
      port: server.port,
      identity: "laptop",
      plain: { username: "alice", password: "pw" },
      heartbeatInterval: 100,
      heartbeatTimeout: 3_000,
    });
    laptop.on("error", () => undefined);
    laptop.register("who", () => "laptop");
    t.after(() => {
      laptop.close();
      server.close();
    });
    server.register("ping", () => "pong");
    assert.equal(await laptop.call("ping"), "pong");
    await waitFor(() => server.users.length === 1 && logins.length === 1, "laptop logged in");
    const phone = RpcClient.connect({
      port: server.port,
      identity: "phone",
      plain: { username: "alice", password: "pw" },
      heartbeatInterval: 100,
      heartbeatTimeout: 3_000,
    });
    phone.on("error", () => undefined);
    phone.register("who", () => "phone");
    t.after(() => phone.close());
    assert.equal(await phone.call("ping"), "pong");
    const settled = authentications;
    await sleep(1_000); // ten heartbeats of each
    assert.deepEqual(logins, ["laptop", "phone"], "two logins, not one per heartbeat");
    assert.ok(authentications - settled <= 1, `authenticate ran ${authentications - settled} more times`);
    for (let i = 0; i < 5; i++) assert.equal(await server.call("user:alice", "who"), "phone");
    const refused = await laptop.call("ping").catch((error: unknown) => error);
    assert.ok(refused instanceof RpcAuthError && /replaced by a newer login/.test(refused.message), `got ${String(refused)}`);
    assert.equal(laptop.connected, true, "the replaced client is refused, not lost: its heartbeats are answered");
  });
});
