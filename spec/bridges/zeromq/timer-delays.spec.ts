// The receipt timer of a BrokerLink is armed in whole milliseconds. One Node Timeout armed with a
// fractional delay changes the hidden class of every Timeout (its `_idleTimeout` field becomes a double),
// and V8 then throws away the optimized code of every function that handled a timer: Node's timer lists,
// and on the round-trip path BrokerLink's transmit and the broker's #owe. Compiling them again takes a
// core for milliseconds inside the round trips of that moment (bench/results/zeromq.md, 2026-12-06
// eighth pass).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("zeromq link: the receipt timer is armed in whole milliseconds", () => {
  it("re-arms for a batch still waiting with an integer delay, and the batch still fails in its own time", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const bus = new Bus();
    // Long enough that the first batch's receipt, and the second batch after it, come well within it on a
    // loaded machine: at 1,000 ms a full run with three other jobs on the 2 cores once took longer than that
    // to get the first receipt, so the timer fired with nothing waiting and was never re-armed.
    const sendTimeout = 3_000;
    const link = await BrokerLink.connect({
      bus,
      ...ports,
      importFilters: ["none:none"],
      sendTimeout,
      retryDelay: { initial: 1_000, max: 1_000 },
      closeTimeout: 0,
    });
    const errors: Error[] = [];
    link.on("error", (error) => errors.push(error));
    // Every delay the receipt timer is re-armed with, told apart from other timers by its callback's stack.
    const rearmed: number[] = [];
    const original = globalThis.setTimeout;
    const spy = ((callback: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) => {
      if (new Error().stack?.includes("expireReceipts") === true) rearmed.push(Number(delay));
      return original(callback, delay, ...args);
    }) as typeof setTimeout;
    globalThis.setTimeout = spy;
    t.after(async () => {
      globalThis.setTimeout = original;
      await link.close();
      broker.close();
    });

    // The first batch arms the timer (sendTimeout from now); its receipt comes and the timer stays armed.
    bus.twitter("timer:first", 1);
    await waitFor(() => link.stats.sent === 1, "the first batch's receipt");
    // A second batch, sent to a broker that is gone right after that receipt (a fraction of a ms to some ms
    // after the first batch), is still waiting when the timer fires: it is armed again for what is left of
    // the second batch's deadline.
    broker.close();
    const sentAt = performance.now();
    bus.twitter("timer:second", 2);
    await waitFor(() => errors.length > 0, "the second batch to fail", 10_000);
    const failedAfter = performance.now() - sentAt;

    assert.ok(rearmed.length >= 1, "the receipt timer was armed again for the waiting batch");
    for (const delay of rearmed) {
      assert.ok(Number.isInteger(delay) && delay >= 1, `receipt timer re-armed with ${delay} ms: not a whole number`);
      assert.ok(delay <= sendTimeout, `re-armed for ${delay} ms, more than sendTimeout`);
    }
    // Rounding up does not change when the batch gives up: at its sendTimeout (its send to a broker that
    // is gone, or its receipt's deadline, whichever comes first), not before.
    assert.ok(failedAfter >= sendTimeout - 5, `the waiting batch failed after ${failedAfter.toFixed(0)} ms`);
    assert.equal(link.stats.sent, 1, "the second batch was not taken as sent");
  });
});
