// Red team r32: libzmq makes no new connection after a handshake the server refused. A server refusing
// for a moment, at maxPendingAuthentications because many clients came at once (a server restarted, its
// clients all back together), kept each client it refused out for good: 300 clients at once, 100
// authentications at a time, and 200 stayed refused (RpcAuthError) until they were restarted. A refused
// client now makes its connection again after 0.5 s, doubling up to 30 s while it is refused.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RpcAuthError, RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";
import { sleep } from "../../helpers/wait-for.js";

const CLIENTS = 30;

describe("red team r32: clients refused while the server was at maxPendingAuthentications", () => {
  it("are let in once it has room", { timeout: 25_000 }, async (t) => {
    const server = await RpcServer.listen({
      port: 0,
      plain: true,
      // A hook that looks the password up somewhere: 30 ms each.
      authenticate: async (_mechanism, { username, password }) => {
        await sleep(30);
        return password === "pw" ? `user:${username}` : undefined;
      },
      maxPendingAuthentications: 10,
    });
    server.on("error", () => {});
    server.register("ping", () => "pong");
    t.after(() => server.close());
    const clients = Array.from({ length: CLIENTS }, (_, at) =>
      RpcClient.connect({ port: server.port, plain: { username: `user-${at}`, password: "pw" }, callTimeout: 3_000 }),
    );
    for (const client of clients) {
      client.on("error", () => {});
      t.after(() => client.close());
    }
    const first = await Promise.all(clients.map((client) => client.call("ping").catch((error: unknown) => error)));
    const refused = first.filter((outcome) => outcome instanceof RpcAuthError).length;
    assert.ok(refused > 0, `no client was refused at first (${first.map(String).join(", ")}): the spec proves nothing`);
    // Each client calls until answered (bounded): refused ones fail at once until their connection is made again.
    const until = Date.now() + 10_000;
    const answered = await Promise.all(
      clients.map(async (client) => {
        for (;;) {
          const outcome = await client.call("ping").catch((error: unknown) => error);
          if (outcome === "pong" || Date.now() > until) return outcome;
          await sleep(100);
        }
      }),
    );
    const left = answered.filter((outcome) => outcome !== "pong");
    assert.equal(left.length, 0, `${left.length} of ${CLIENTS} clients still out after 10 s (${refused} refused at first): ${left.map(String).slice(0, 3).join("; ")}`);
  });
});
