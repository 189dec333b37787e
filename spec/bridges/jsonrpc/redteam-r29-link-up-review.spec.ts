// Red team review of r29: a PeerLink down with nothing left to send probes its far side with its last neighbour
// list. A berryMQ 0.3 node takes no control messages: one reaching it is an ordinary message to it
// (`berrymq-link:neighbours`, this bus's neighbours and filters in its args), handed to its followers and
// forwarded to every peer it links to. Found here, and older than r29: a PeerLink that found a 0.3 server
// (HttpLink's `legacy`) does not override `carriesControl`, so it announces to the 0.3 node at connect and at
// every change of its bus's links; r29 adds the probe (a 0.3 node that took the far side's address gets the
// list the probe carried). The fix is in bridges/jsonrpc/http-link.ts (`carriesControl` false while
// `legacy`), outside this review's files, and then a probe already in a batch whose handshake finds the 0.3
// server must be taken out of it (the Link builds the batch before `transmit` handshakes). Fixed in r29 (HttpLink: carriesControl false once legacy; a list already in the batch stays behind).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { within } from "../../../lib/request.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startLegacyNode, startPeer } from "./peer-process.js";

describe("red team r29 review: a PeerLink's probe to a far side that is a berryMQ 0.3 node now", () => {

  it("a PeerLink connected to a 0.3 node sends it no neighbour list", async () => {
    const bus = new Bus({ id: "r29r-direct" });
    const server = await serve({ bus });
    const legacy = await startLegacyNode({});
    let link: PeerLink | undefined;
    try {
      link = await PeerLink.connect(legacy.url, { bus, server });
      bus.twitter("r29r:direct", 1);
      await waitFor(() => legacy.messages("r29r:direct").length === 1, "the message at the 0.3 node", 10_000);
      await sleep(100);
      assert.deepEqual(
        legacy.messages().map((m) => m.id),
        ["r29r:direct"],
      );
    } finally {
      await link?.close();
      await legacy.kill();
      await server.close();
      bus.close();
    }
  });

  it("sends a 0.3 node that took the far side's address no neighbour list as its probe", async () => {
    const bus = new Bus({ id: "r29r-near" });
    bus.on("error", () => {});
    const server = await serve({ bus });
    const children: PeerProcess[] = [];
    let link: PeerLink | undefined;
    try {
      const far = await startPeer({ busId: "r29r-far" });
      children.push(far);
      const port = Number(new URL(far.url).port);
      link = await PeerLink.connect(far.url, { bus, server, retryDelay: { initial: 20, max: 100 } });
      const near = link;
      near.on("error", () => {});
      bus.twitter("r29r:first", 1);
      await waitFor(() => far.messages("r29r:first").length === 1, "a first message at the far peer", 10_000);
      // Acknowledged too: a batch the far side took but did not acknowledge before its kill is sent again.
      await waitFor(() => near.backlog === 0, "the first message acknowledged", 10_000);

      await far.kill();
      await bus.ask("r29r:ask", within({ timeout: 200 })).catch(() => undefined);
      await waitFor(() => near.isDown && near.backlog === 0, "the link down, its ask ended unsent", 10_000);
      await sleep(200); // a few probes fail

      const legacy = await startLegacyNode({ port });
      children.push(legacy);
      // The probe's handshake (or a ping's) finds the 0.3 node; then a message goes.
      await waitFor(() => legacy.events.some((e) => e.event === "ready"), "the 0.3 node ready", 10_000);
      await sleep(300);
      bus.twitter("r29r:after", 2);
      await waitFor(() => legacy.messages("r29r:after").length === 1, "a message at the 0.3 node", 10_000);
      assert.deepEqual(
        legacy.messages().map((m) => m.id),
        ["r29r:after"],
        "the 0.3 node got the message, and nothing else",
      );
    } finally {
      await link?.close();
      for (const child of children) await child.kill();
      await server.close();
      bus.close();
    }
  });
});
