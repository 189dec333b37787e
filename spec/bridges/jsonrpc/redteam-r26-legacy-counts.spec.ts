// Final review r26: a message a berryMQ 0.3 peer refuses is counted dropped, and was then counted sent too
// (the answered-for path of h-413 counted every message the peer answered for): sent + dropped exceeded what
// was sent. Each message is counted once now.
import assert from "node:assert/strict";
import { it } from "node:test";
import { SendOnlyClient } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { waitFor } from "../../helpers/wait-for.js";
import { startLegacyNode } from "./peer-process.js";

it("a message a 0.3 peer refuses is counted dropped only, the others sent", async () => {
  const legacy = await startLegacyNode({ raise: "app:bad" });
  const near = new Bus();
  near.on("error", () => undefined);
  const link = new SendOnlyClient(legacy.url, { bus: near, exportFilters: ["app:*"] });
  link.on("error", () => undefined);
  try {
    await link.connected();
    near.twitter("app:bad", -1);
    for (let i = 0; i < 10; i++) near.twitter("app:n", i);
    await waitFor(() => link.backlog === 0, "the batch answered for", 10_000);
    assert.deepEqual([link.stats.sent, link.stats.dropped], [10, 1]);
    assert.equal(legacy.messages("app:n").length, 10);
  } finally {
    await link.close();
    await legacy.stop();
  }
});
