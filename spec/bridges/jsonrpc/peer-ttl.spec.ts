// A server's link back to a peer lives as long as the peer keeps its token alive: once the peer (a real
// child process) stops pinging and sending for longer than its `ttl`, the server drops the link.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import type { Message } from "../../../lib/message.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { startPeer } from "./peer-process.js";

const TTL_SECONDS = 1;

describe("the server's link back to a peer, and the peer's ttl", () => {
  it("stays while the peer pings, expires once the peer stops for longer than its ttl, and the peer links again when it is back", async () => {
    const bus = new Bus({ id: "ttl-server" });
    // Sweeps often, so the expiry is seen soon after the ttl; the expired link gives up flushing quickly.
    const server = await serve({ bus, sweepInterval: 50, peerLink: { closeTimeout: 200 } });
    // The child links to this server with ttl 1 s and pings every 100 ms.
    const peer = await startPeer({ busId: "ttl-peer", peers: [server.url], ttl: TTL_SECONDS });
    const fromPeer: Message[] = [];
    bus.follow("ttl:up", (m) => void fromPeer.push(m));
    try {
      assert.equal(server.connections, 1, "the peer's link, with the server's link back");
      // No messages for well past the ttl, but pings: the link back stays and still delivers.
      await sleep(2.5 * TTL_SECONDS * 1000);
      assert.equal(server.connections, 1, "a pinging peer keeps its link");
      bus.twitter("ttl:down", "alive");
      await waitFor(() => peer.messages("ttl:down").length === 1, "a message over the kept link back");

      // A hung peer: no pings, no messages, no answers.
      peer.pause();
      const paused = Date.now();
      await waitFor(() => server.connections === 0, "the server to drop the link back at ttl expiry", 10_000);
      // Its last ping came at most 100 ms before the pause (plus a little for the clock's tick).
      assert.ok(Date.now() - paused >= TTL_SECONDS * 1000 - 200, "not before the ttl ran out");
      // The link back is closed, not merely down: nothing is kept for the peer any more (a link that
      // was only down would buffer this and deliver it once the peer answers again).
      bus.twitter("ttl:down", "while expired");

      peer.resume();
      // The peer's next ping is answered "token expired"; it opens its link again, and the server links back.
      await waitFor(() => server.connections === 1, "the peer to link again after its token expired");
      bus.twitter("ttl:down", "after");
      peer.command({ cmd: "twitter", id: "ttl:up", args: ["back"] });
      await waitFor(
        () => peer.messages("ttl:down").length >= 2 && fromPeer.length === 1,
        "messages both ways over the new link",
      );
      await sleep(200);
      assert.deepEqual(
        peer.messages("ttl:down").map((m) => m.args?.[0]),
        ["alive", "after"],
      );
      assert.deepEqual(fromPeer[0]?.args, ["back"]);
    } finally {
      peer.resume();
      await peer.stop();
      await server.close();
    }
  });
});
