// Review r25, RPC: the half-open fix made a client connect again when its connection had brought nothing
// for heartbeatTimeout + heartbeatInterval (2 s by default). A server whose event loop was busy that long
// (a long synchronous procedure) still answers ZMTP heartbeats from libzmq's thread, but brings nothing:
// every client connected again at once (20 idle clients: ~41 new TCP connections, 21 lost, served again
// up to 2 s late), and with logins the burst of re-handshakes could pass maxPendingAuthentications and
// lock clients out. Now only a connection made anew that never served is made again.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { connect, createServer, type Server, type Socket } from "node:net";
import { describe, it } from "node:test";
import { RpcClient } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep } from "../../helpers/wait-for.js";
import { startRpcPeer } from "./rpc-peer-process.js";

// A TCP forwarder that counts the connections made through it.
async function countingRelay(target: number): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let made = 0;
  const sockets = new Set<Socket>();
  const relay: Server = createServer((client) => {
    made++;
    const upstream = connect(target, "127.0.0.1");
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on("error", () => to.destroy());
      from.on("close", () => to.destroy());
      from.pipe(to);
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  return {
    port: (relay.address() as { port: number }).port,
    connections: () => made,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => relay.close(resolve));
    },
  };
}

for (const mode of ["no login", "plain"] as const) {
  describe(`zeromq RPC red team r25: a server busy for seconds (${mode})`, () => {
    it("its clients keep their connections and are served as soon as it is free again", { timeout: 60_000 }, async (t) => {
      const port = await freePort();
      const server: ChildProcess = await startRpcPeer(["busy-server", String(port), ...(mode === "plain" ? ["plain"] : [])]);
      t.after(() => server.kill("SIGKILL"));
      const relay = await countingRelay(port);
      t.after(() => relay.close());
      const clients = Array.from({ length: 6 }, (_, i) =>
        RpcClient.connect({
          port: relay.port,
          identity: `busy-${i}`,
          callTimeout: 20_000,
          ...(mode === "plain" ? { plain: { username: `u${i}`, password: "pw" } } : {}),
        }),
      );
      t.after(() => {
        for (const client of clients) client.close();
      });
      for (const client of clients) client.on("error", () => undefined);
      for (const client of clients) assert.equal(await client.call("ping"), "pong");
      const before = relay.connections();
      const [blocker] = clients as [RpcClient];
      const started = Date.now();
      // Past heartbeatTimeout + heartbeatInterval (2 s). The call itself fails at the heartbeat timeout
      // (1.5 s: the server is silent), as before; what matters is what the connections do meanwhile.
      void blocker.call("block", 3_500).catch(() => undefined);
      await sleep(3_700 - (Date.now() - started)); // the server is free again
      const free = Date.now();
      await Promise.all(clients.map((client) => client.call("ping")));
      const late = Date.now() - free;
      assert.equal(relay.connections() - before, 0, "no client connected again");
      assert.ok(late < 1_500, `served again ${late} ms after the server was free`);
    });
  });
}
