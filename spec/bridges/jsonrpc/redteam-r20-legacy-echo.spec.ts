// Red team r20: once a bus has a berryMQ 0.3 peer, every message it dispatches is fingerprinted (as JSON)
// in the bus's `message` event to recognise the 0.3 node's echoes. A local message JSON cannot carry (a
// BigInt, a cycle: fine on a bus, refused only by links) made that listener throw: `twitter()` threw a
// TypeError after its followers ran, and the listeners after it (links among them) never saw the message.
// The 0.3 node is the stand-in of spec/bridges/jsonrpc/fixtures/legacy-node.ts, in its own process.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serve } from "../../../bridges/jsonrpc/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { waitFor } from "../../helpers/wait-for.js";
import { startLegacyNode } from "./peer-process.js";

describe("a bus with a berryMQ 0.3 peer sends local messages JSON cannot carry", () => {
  it("twitter() delivers them and returns; later message listeners see them; the 0.3 peer still gets the rest", async () => {
    const bus = new Bus({ id: "r20-echo" });
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    const server = await serve({ bus });
    const legacy = await startLegacyNode({ peers: [server.url] });
    try {
      await waitFor(() => server.connections === 1, "the 0.3 node's interconnect");
      const delivered: unknown[] = [];
      bus.follow("local:*", (message) => void delivered.push(message.args[0]));
      // Registered after the echo filter's listener, as a link opened later would be.
      const seenLater: string[] = [];
      bus.on("message", (message) => void seenLater.push(message.id));
      const cyclic: Record<string, unknown> = { name: "loop" };
      cyclic.self = cyclic;
      assert.equal(bus.twitter("local:big", 2n ** 64n), 1, "a BigInt: delivered, twitter returns");
      assert.equal(bus.twitter("local:cycle", cyclic), 1, "a cycle: delivered, twitter returns");
      assert.deepEqual(delivered, [2n ** 64n, cyclic]);
      assert.deepEqual(seenLater, ["local:big", "local:cycle"]);
      bus.twitter("local:plain", "after");
      await waitFor(() => legacy.messages("local:plain").length === 1, "the next message at the 0.3 node");
      assert.deepEqual(legacy.messages("local:plain")[0]?.args, ["after"]);
      assert.equal(legacy.messages("local:big").length, 0, "nothing changed reached it");
    } finally {
      await legacy.stop();
      await server.close();
      bus.close();
    }
  });
});
