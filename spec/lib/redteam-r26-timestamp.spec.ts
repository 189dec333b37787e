// Red team r26: `message.timestamp` comes from a cached clock (Date.now() costs ~50 ns a message, the
// cache ~6 ns). Not a fix: this pins what README and Message.timestamp document, so the two stay true.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/index.js";

const busyWait = (ms: number): void => {
  const until = Date.now() + ms;
  while (Date.now() < until) {}
};

describe("message.timestamp (r26)", () => {
  it("sends in one synchronous run share the first one's time; after an await the clock is read again", async () => {
    const bus = new Bus();
    const stamps: number[] = [];
    bus.follow("job:step", (message) => void stamps.push(message.timestamp));
    await Promise.resolve();
    const start = Date.now();
    bus.twitter("job:step", 1);
    busyWait(30);
    bus.twitter("job:step", 2);
    await Promise.resolve();
    const later = Date.now();
    bus.twitter("job:step", 3);
    const [first, second, third] = stamps as [number, number, number];
    assert.ok(first >= start && first <= start + 5, `first ${first - start} ms after start`);
    assert.equal(second, first, "30 ms of synchronous work later: the cached time");
    assert.ok(third >= later, "a new microtask: read afresh");
  });
});
