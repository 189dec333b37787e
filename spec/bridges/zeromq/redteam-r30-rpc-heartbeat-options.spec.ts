// r30 red team, RPC options: a heartbeatTimeout no longer than heartbeatInterval was taken. Each end
// heartbeats once an interval, so the peer was found lost between two heartbeats: with the default
// interval (500 ms) and heartbeatTimeout 200, a healthy server's 300 ms procedure failed with
// RpcPeerLostError ("no heartbeat for 270 ms") and the client flapped disconnect/connect; on a server with
// logins, every login ended. Now refused at once, naming the option.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../../lib/errors.js";
import { RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";

describe("zeromq RPC red team r30: heartbeatTimeout against heartbeatInterval", () => {
  it("a client whose heartbeatTimeout is not longer than its heartbeatInterval is refused, naming it", async () => {
    const port = await freePort();
    for (const options of [{ heartbeatTimeout: 200 }, { heartbeatInterval: 100, heartbeatTimeout: 100 }]) {
      assert.throws(
        () => RpcClient.connect({ port, ...options }),
        (error: unknown) =>
          error instanceof InvalidArgumentError &&
          /heartbeatTimeout/.test(error.message) &&
          /heartbeatInterval/.test(error.message),
      );
    }
  });

  it("so is a server's", async () => {
    for (const options of [{ heartbeatTimeout: 499 }, { heartbeatInterval: 1_000, heartbeatTimeout: 1_000 }]) {
      await assert.rejects(
        RpcServer.listen({ port: await freePort(), ...options }),
        (error: unknown) => error instanceof InvalidArgumentError && /heartbeatTimeout/.test(error.message),
      );
    }
  });

  // Twice the interval, not just longer: 101 for 100 still found live peers lost (redteam-r30-review-heartbeat).
  it("a timeout of twice the interval is taken, and the defaults still are", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), heartbeatTimeout: 1_000 });
    server.register("ping", () => "pong");
    const client = RpcClient.connect({ port: server.port, heartbeatInterval: 100, heartbeatTimeout: 200 });
    const defaults = RpcClient.connect({ port: server.port });
    t.after(() => {
      client.close();
      defaults.close();
      server.close();
    });
    assert.equal(await defaults.call("ping"), "pong");
  });
});
