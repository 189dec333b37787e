// Red team r27: a PeerLink asks for its stream right after its handshake. When the far server restarted
// while that upgrade was on its way, the link's next send found its token lost and made a new handshake,
// whose own upgrade was skipped (one upgrade at a time); the old one then came back refused (the new server
// never issued that token) and marked the far server as one that takes no stream: the link kept to POSTs
// until its next handshake, which with a healthy far side never came. Now a refusal for a token replaced
// meanwhile marks nothing, and the next ping asks again.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

// A TCP relay to 127.0.0.1:`target` that holds back each upgrade request for `delay` ms, as a slow network
// would hold the one request; everything else passes at once.
async function slowUpgrades(target: () => number, delay: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const relay = createServer((client) => {
    sockets.add(client);
    client.on("error", () => {});
    client.once("data", (first: Buffer) => {
      client.pause();
      const go = (): void => {
        const upstream = connect(target(), "127.0.0.1");
        sockets.add(upstream);
        upstream.on("error", () => client.destroy());
        upstream.write(first);
        client.pipe(upstream).pipe(client);
        client.resume();
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      };
      if (/^upgrade:/im.test(first.toString("latin1"))) setTimeout(go, delay);
      else go();
    });
  });
  relay.listen(0, "127.0.0.1");
  await once(relay, "listening");
  return {
    port: (relay.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
  };
}

it("a far server restarted while the first upgrade was on its way: the link streams again", async () => {
  const a = new Bus();
  const sa = await serve({ bus: a });
  let b = new Bus();
  let sb: BridgeServer = await serve({ bus: b });
  const port = sb.port;
  const relay = await slowUpgrades(() => port, 400);
  const link = await PeerLink.connect(`http://127.0.0.1:${relay.port}/`, {
    bus: a,
    server: sa,
    pingInterval: 50,
    retryDelay: { initial: 10, max: 50 },
  });
  link.on("error", () => {});
  try {
    // The upgrade is held in the relay: the far server restarts meanwhile (same port, a new bus).
    await sb.close();
    b = new Bus();
    sb = await serve({ bus: b, port });
    const got: number[] = [];
    b.follow("up:*", (m) => void got.push(m.args[0] as number));
    a.twitter("up:x", 1); // finds the token lost: a new handshake
    await waitFor(() => got.length === 1, "delivered to the restarted far side");
    await sleep(500); // the held upgrade comes back refused
    await waitFor(() => link.streaming, "a stream again", 3_000);
    a.twitter("up:x", 2);
    await waitFor(() => got.length === 2, "delivered on the stream");
    assert.equal(link.streaming, true);
  } finally {
    await link.close();
    await relay.close();
    await sb.close();
    await sa.close();
  }
});
