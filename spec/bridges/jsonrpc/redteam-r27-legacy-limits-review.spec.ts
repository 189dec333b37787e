// Red team r27 (review of r27-link): r27 made every link refuse, before sending, a message whose identifier
// is over 1,024 characters or that has more than 64 hops (berrymq's envelope limits, which a berrymq far
// side would refuse). A berryMQ 0.3 peer holds to neither (it takes an identifier of any length, and no
// hops go to it), and links to one must be unaffected by berrymq's wire: such messages went to it before
// r27, and after r27 they were dropped as unsendable. Links to a 0.3 peer (a PeerLink that found one, and
// the link a server opens back to one) no longer apply those two limits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { createMessage } from "../../../lib/message.js";
import { waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startLegacyNode } from "./peer-process.js";
import { post } from "./raw-http.js";

describe("berrymq's envelope limits and a berryMQ 0.3 peer (child process, 127.0.0.1)", () => {
  it("a PeerLink to a 0.3 node sends an identifier over 1,024 characters and a message of more than 64 hops", async () => {
    const bus = new Bus({ id: "r27-legacy-limits" });
    const server = await serve({ bus });
    let node: PeerProcess | undefined;
    let link: PeerLink | undefined;
    const errors: BerryError[] = [];
    try {
      node = await startLegacyNode({});
      const pb = node;
      link = await PeerLink.connect(node.url, { bus, server });
      link.on("error", (error) => void errors.push(error));
      const long = `${"l".repeat(1_100)}:x`;
      bus.twitter(long, "long");
      await waitFor(
        () => pb.messages(long).length === 1,
        `the long identifier at the 0.3 node (errors: ${errors.map((e) => e.message.slice(0, 90))})`,
        5_000,
      );
      const hops = Array.from({ length: 64 }, (_, i) => `far${i}`);
      bus.inject(createMessage({ identifier: "hops:many", messageId: "far0/1", hops }));
      await waitFor(() => pb.messages("hops:many").length === 1, "the 65-hop message at the 0.3 node", 5_000);
      assert.deepEqual(errors, []);
      assert.equal(link.stats.dropped, 0);
    } finally {
      await link?.close();
      await server.close();
      await node?.stop();
    }
  });

  it("the link a server opens back to a 0.3 node that interconnected sends an identifier over 1,024 characters", async () => {
    const bus = new Bus({ id: "r27-legacy-back" });
    const server = await serve({ bus });
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    let node: PeerProcess | undefined;
    try {
      node = await startLegacyNode({ peers: [server.url] });
      const pb = node;
      const long = `${"k".repeat(1_100)}:y`;
      bus.twitter(long, "long");
      await waitFor(
        () => pb.messages(long).length === 1,
        `the long identifier at the 0.3 node (errors: ${errors.map((e) => e.message.slice(0, 90))})`,
        5_000,
      );
      assert.deepEqual(errors, []);
    } finally {
      await server.close();
      await node?.stop();
    }
  });

  it("a 0.3 client's queue session answers an identifier over 1,024 characters (get_nowait and get)", async () => {
    const bus = new Bus({ id: "r27-legacy-queue" });
    const server = await serve({ bus });
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    try {
      const opened = await post(server.url, { id: null, method: "connect_via_queue", params: ["*:*", 60] });
      const token = (opened.body as { result: string }).result;
      const long = `${"q".repeat(1_100)}:z`;
      bus.twitter(long, 1);
      bus.twitter(long, 2);
      const now = await post(server.url, { id: 1, method: "get_nowait", params: [token] });
      assert.deepEqual((now.body as { result: unknown }).result, [long, [1], {}], now.text.slice(0, 200));
      const waited = await post(server.url, { id: 2, method: "get", params: [token, true, 1] });
      assert.deepEqual((waited.body as { result: unknown }).result, [long, [2], {}], waited.text.slice(0, 200));
      assert.deepEqual(errors, []);
    } finally {
      await server.close();
      bus.close();
    }
  });
});
