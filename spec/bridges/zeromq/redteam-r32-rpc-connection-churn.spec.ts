// Red team r32: an RpcServer with logins kept the connection of every identity that ever connected, in a
// table swept only at each heartbeat interval: a local churn of clients left ~1,000 entries an interval, and
// with a long heartbeatInterval (up to 2^31-1 ms) it grew without bound, 300 bytes an identity of 255 bytes
// (10,000 connections that came and went: +3.4 MB). A connection's change now matters only to a login being
// checked, and is only noted for those: at most one a tracked client (maxClients).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { RpcServer } from "../../../bridges/zeromq/index.js";
import { heapUsed } from "../../helpers/heap.js";

const CONNECTIONS = 10_000;
const WORKERS = 4;

// `count` connections, one after another, each under a new identity of 255 bytes: connected, handshaken
// (so the server is told of it), then cut.
async function churn(endpoint: string, worker: number, count: number): Promise<void> {
  const dealer = new zmq.Dealer({ linger: 0, plainUsername: "churn", plainPassword: "secret" });
  try {
    for (let connection = 0; connection < count; connection++) {
      dealer.routingId = `${worker}-${connection}-`.padEnd(255, "x");
      const handshaken = new Promise<void>((resolve) => {
        const done = (): void => {
          dealer.events.off("handshake", done);
          resolve();
        };
        dealer.events.on("handshake", done);
      });
      dealer.connect(endpoint);
      await handshaken;
      dealer.disconnect(endpoint);
    }
  } finally {
    dealer.close();
  }
}

describe("red team r32: an RpcServer with logins under a churn of connections", () => {
  it("keeps nothing of the connections that came and went", { timeout: 28_000 }, async (t) => {
    const server = await RpcServer.listen({
      port: 0,
      plain: true,
      authenticate: (_mechanism, { username, password }) => (username === "churn" && password === "secret" ? "churn" : undefined),
      // No sweep within the spec: what is kept is what a long heartbeatInterval keeps.
      heartbeatInterval: 60_000,
    });
    server.on("error", () => {});
    t.after(() => server.close());
    const endpoint = `tcp://127.0.0.1:${server.port}`;
    await churn(endpoint, -1, 200); // warm
    const before = heapUsed();
    await Promise.all(Array.from({ length: WORKERS }, (_, worker) => churn(endpoint, worker, CONNECTIONS / WORKERS)));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the last notifications read
    const grown = heapUsed() - before;
    // Before the fix: ~3.4 MB (an entry an identity); after: noise.
    assert.ok(grown < 1_500_000, `the server's heap grew ${grown} bytes over ${CONNECTIONS} connections`);
  });
});
