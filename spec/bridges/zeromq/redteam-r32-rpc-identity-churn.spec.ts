// Red team r32: an RpcServer with logins kept a slot among its maxClients for every identity it had heard
// from until heartbeatTimeout, also once its connection had ended with nothing left to keep (no login, or a
// login the same user had replaced since). A valid user making connection after connection under new
// identities, each heartbeating (or logging in) and gone, filled maxClients: every new client was refused
// ("full") for as long as it went on, and heartbeatTimeout after (here 15 s). Such an identity's slot is
// freed when its connection's end is told now.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";

const MAX_CLIENTS = 20;

// Connections one after another under new identities, each heartbeating or logging in as mallory, then cut.
async function churn(port: number, login: boolean): Promise<void> {
  const dealer = new zmq.Dealer({ linger: 0, plainUsername: "mallory", plainPassword: "pw", sendTimeout: 1_000, receiveTimeout: 500 });
  const endpoint = `tcp://127.0.0.1:${port}`;
  try {
    for (let connection = 0; connection < 2 * MAX_CLIENTS; connection++) {
      dealer.routingId = `mallory-${connection}`;
      const handshaken = new Promise<void>((resolve) => {
        const done = (): void => {
          dealer.events.off("handshake", done);
          resolve();
        };
        dealer.events.on("handshake", done);
      });
      dealer.connect(endpoint);
      await handshaken;
      await dealer.send(login ? ["login", JSON.stringify({ username: "mallory", password: "pw" })] : ["hb"]);
      await dealer.receive().catch(() => []); // its answer (none once the server is full)
      dealer.disconnect(endpoint);
    }
  } finally {
    dealer.close();
  }
}

async function lockedOut(t: { after(fn: () => void): void }, login: boolean): Promise<unknown> {
  const server = await RpcServer.listen({
    port: 0,
    plain: true,
    authenticate: (_mechanism, { username, password }) => (password === "pw" ? `user:${username}` : undefined),
    maxClients: MAX_CLIENTS,
    heartbeatInterval: 5_000,
  });
  server.on("error", () => {});
  server.register("ping", () => "pong");
  t.after(() => server.close());
  await churn(server.port, login);
  const alice = RpcClient.connect({ port: server.port, plain: { username: "alice", password: "pw" }, heartbeatInterval: 1_000, callTimeout: 5_000 });
  alice.on("error", () => {});
  t.after(() => alice.close());
  return alice.call("ping").catch((error: Error) => `${error.name}: ${error.message}`);
}

describe("red team r32: a valid user making connections under new identities, each then gone", () => {
  it("heartbeating: takes no slot once gone, and a new client is served", { timeout: 25_000 }, async (t) => {
    assert.equal(await lockedOut(t, false), "pong");
  });

  it("logging in (each login replacing the one before): takes no slot once gone, and a new client is served", { timeout: 25_000 }, async (t) => {
    assert.equal(await lockedOut(t, true), "pong");
  });
});
