// Red team r25, RPC: close() while a suspended login was being checked again. A call sent on the new
// connection before its login is held until the login; the login's `authenticate` was still running when
// the server closed, and once it returned the server resumed the login and ran the held call after
// close(): a procedure running on a closed server, its signal never aborted (close() had aborted what ran
// then), its run timer keeping the process alive for a minute. And close() dropped what suspended logins
// held without counting it or ending those logins.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { createServer } from "node:net";
import { type Authenticate, type RpcCallContext, RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const credentials = JSON.stringify({ username: "alice", password: "a-pass" });

function dealer(port: number, receiveTimeout = 5_000): zmq.Dealer {
  const socket = new zmq.Dealer({ routingId: "desk-1", plainUsername: "alice", plainPassword: "a-pass", linger: 0, receiveTimeout });
  socket.connect(`tcp://127.0.0.1:${port}`);
  return socket;
}

// A connection under the same identity that the server serves: one opened before the server read the end
// of the previous one is refused as a duplicate identity, and libzmq never takes it up again: open another.
async function servedDealer(port: number): Promise<zmq.Dealer> {
  for (;;) {
    const socket = dealer(port, 1_000);
    await socket.send(["hb"]);
    try {
      const [kind] = await socket.receive();
      if (String(kind) === "login?") return socket; // asked to log in again: the login is suspended
    } catch {
      // not served: refused as a duplicate
    }
    socket.close();
  }
}

describe("zeromq RPC red team r25: close() during a login", () => {
  it("a call held for a login checked while the server closes is never run, and the login ends, told", async (t) => {
    let gate: Promise<void> | undefined;
    let entered = (): void => undefined;
    const checking = new Promise<void>((resolve) => {
      entered = resolve;
    });
    // A login frame (address "") is checked slowly once `gate` is set; handshakes (ZAP) at once.
    const authenticate: Authenticate = async (_mechanism, { username, password, address }) => {
      if (address === "" && gate !== undefined) {
        entered();
        await gate;
      }
      return username === "alice" && password === "a-pass" ? "user:alice" : undefined;
    };
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate, heartbeatTimeout: 10_000 });
    server.on("error", () => undefined);
    t.after(() => server.close());
    const ran: string[] = [];
    server.register("side", function (this: RpcCallContext) {
      ran.push("side");
      return new Promise((resolve) => this.signal.addEventListener("abort", () => resolve("aborted")));
    });
    const logouts: Array<[string, string, number]> = [];
    server.on("logout", (identity, userId, undelivered) => void logouts.push([identity, userId, undelivered]));
    const first = dealer(server.port);
    t.after(() => first.close());
    await first.send(["login", credentials]);
    assert.deepEqual((await first.receive()).map(String), ["login-ok", "user:alice"]);
    first.close();
    // The same identity again, on a new connection: its login is suspended, its call held until it logs in.
    const second = await servedDealer(server.port);
    t.after(() => second.close());
    let release = (): void => undefined;
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await second.send(["rpc", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "side", params: [] })]);
    await second.send(["login", credentials]);
    await checking; // the login is being checked
    server.close();
    release();
    await sleep(300); // the login's check returns and whatever it would do is done
    assert.deepEqual(ran, [], "nothing runs on a closed server");
    await waitFor(() => logouts.length === 1, "the suspended login ends at close()", 5_000);
    assert.deepEqual(logouts[0]?.slice(0, 2), ["desk-1", "user:alice"]);
  });

  // Review r25: close() tells each login's end (logout) before it closed the socket; a listener that threw
  // left the server half-closed (its port still bound, close() a no-op the second time).
  it("a logout listener that throws does not leave the server open", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate: (_m, c) => `user:${c.username}` });
    server.register("ping", () => "pong");
    const client = RpcClient.connect({ port: server.port, plain: { username: "alice", password: "pw" } });
    client.on("error", () => undefined);
    t.after(() => client.close());
    assert.equal(await client.call("ping"), "pong");
    server.on("logout", () => {
      throw new Error("listener bug");
    });
    assert.throws(() => server.close(), /listener bug/);
    await sleep(200);
    const probe = createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once("error", () => resolve(false));
      probe.listen(server.port, "127.0.0.1", () => resolve(true));
    });
    probe.close();
    assert.ok(free, "the server's port is free after close()");
  });
});
