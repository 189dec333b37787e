import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RecentIds } from "../../lib/recent-ids.js";

describe("RecentIds (the de-duplication window)", () => {
  for (const capacity of [1, 2, 3, 7]) {
    it(`keeps exactly the last ${capacity} ids, whatever the number added`, () => {
      const ids = new RecentIds(capacity);
      for (let n = 0; n < capacity * 5 + 3; n++) {
        assert.equal(ids.add(`id-${n}`), true);
        assert.equal(ids.add(`id-${n}`), false, "a second add is refused");
        const kept = Array.from({ length: n + 1 }, (_, i) => i).filter((i) => ids.has(`id-${i}`));
        const expected = Array.from({ length: Math.min(n + 1, capacity) }, (_, i) => n + 1 - Math.min(n + 1, capacity) + i);
        assert.deepEqual(kept, expected, `after adding id-${n}`);
        assert.equal(ids.size, Math.min(n + 1, capacity));
      }
    });
  }
});
