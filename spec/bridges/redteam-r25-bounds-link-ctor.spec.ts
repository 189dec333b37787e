// Red team r25 (bounds): a Link constructor that threw on a bad option left listeners on the bus: with
// `importFilters: "followers"` it subscribed to the bus's follow and unfollow events before it checked
// bufferSize, maxBatch, retryDelay and closeTimeout (audit probe: 1,000 throws left 1,000 of each, and
// the half-built links with them). The options are now checked first.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { LinkOptions } from "../../bridges/link.js";
import { Bus } from "../../lib/bus.js";
import { MemoryLink } from "../helpers/memory-link.js";

const BAD: Partial<LinkOptions>[] = [
  { bufferSize: 0 },
  { maxBatch: -1 },
  { retryDelay: { initial: -5, max: 1_000 } },
  { retryDelay: { initial: 50, max: Number.NaN } },
  { closeTimeout: -1 },
];

it("red team: a Link whose constructor throws on an option leaves no follow or unfollow listener on the bus", async () => {
  const bus = new Bus({ id: "r25-ctor-leak" });
  let thrown = 0;
  for (let i = 0; i < 400; i++) {
    const bad = BAD[i % BAD.length];
    assert.throws(
      () => new MemoryLink({ bus, importFilters: "followers", ...bad }),
      /bufferSize|maxBatch|retryDelay|closeTimeout/,
    );
    thrown++;
  }
  assert.equal(thrown, 400);
  assert.equal(bus.listenerCount("follow"), 0, "follow listeners left by constructors that threw (before the fix: 400)");
  assert.equal(bus.listenerCount("unfollow"), 0, "unfollow listeners left by constructors that threw (before the fix: 400)");
  // A link built whole still follows the bus's followers.
  const link = new MemoryLink({ bus, importFilters: "followers" });
  assert.equal(bus.listenerCount("follow"), 1);
  assert.equal(bus.listenerCount("unfollow"), 1);
  await link.close();
});
