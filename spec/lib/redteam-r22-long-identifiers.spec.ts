// Red team r22: the caches keyed by identifier (parsed identifiers, a bus's routes, the routing index's
// matches) were bounded in entries only (10,000 each), not in length: 100 distinct 1 MB identifiers left
// ~200 MB behind in one process. Identifiers over MAX_CACHED_IDENTIFIER_LENGTH are parsed and routed anew.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { MAX_CACHED_IDENTIFIER_LENGTH, parseIdentifier } from "../../lib/identifier.js";
import { heapUsed } from "../helpers/heap.js";

describe("red team r22: long identifiers are not cached", () => {
  it("100 messages under distinct 1 MB identifiers leave no 1 MB entries behind, and are still delivered", () => {
    const bus = new Bus();
    let received = 0;
    bus.follow("*:*", () => void received++);
    const before = heapUsed();
    for (let i = 0; i < 100; i++) bus.twitter(`${String(i).padStart(6, "0")}${"n".repeat(1_000_000)}:a`, i);
    const grown = heapUsed() - before;
    assert.equal(received, 100);
    assert.ok(grown < 20_000_000, `the process kept ${Math.round(grown / 1e6)} MB after 100 MB of identifiers`);
    bus.close();
  });

  it("identifiers up to the bound are still cached (the same parsed object comes back)", () => {
    const short = `${"s".repeat(MAX_CACHED_IDENTIFIER_LENGTH - 2)}:a`;
    assert.equal(short.length, MAX_CACHED_IDENTIFIER_LENGTH);
    assert.equal(parseIdentifier(short), parseIdentifier(short));
    const long = `${"l".repeat(MAX_CACHED_IDENTIFIER_LENGTH)}:a`;
    assert.notEqual(parseIdentifier(long), parseIdentifier(long));
    assert.deepEqual(parseIdentifier(long), parseIdentifier(long));
  });
});
