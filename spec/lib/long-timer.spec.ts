import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, checkDuration, InvalidArgumentError, MAX_TIMER_DELAY, Queue, QueueTimeoutError, setLongTimeout } from "../../lib/index.js";
import { sleep } from "../helpers/wait-for.js";

describe("long timers (user durations reaching a timer)", () => {
  it("a 2^31 ms timeout does not fire at once (Node's setTimeout would overflow to 1 ms)", async () => {
    let fired = false;
    const timer = setLongTimeout(() => {
      fired = true;
    }, 2 ** 31);
    await sleep(50);
    timer.clear();
    assert.equal(fired, false);
    assert.ok(2 ** 31 > MAX_TIMER_DELAY);
  });

  it("Infinity never fires; a short delay still does", async () => {
    let never = false;
    let soon = false;
    const forever = setLongTimeout(() => {
      never = true;
    }, Number.POSITIVE_INFINITY);
    setLongTimeout(() => {
      soon = true;
    }, 5);
    await sleep(50);
    forever.clear();
    assert.equal(never, false);
    assert.equal(soon, true);
  });

  it("Queue.get({ timeout: 2^31 }) and { timeout: Infinity } wait for a message instead of rejecting at once", async () => {
    const bus = new Bus();
    const queue = new Queue("q:*", { bus });
    const outcomes: string[] = [];
    const long = queue.get({ timeout: 2 ** 31 }).then((m) => void outcomes.push(`long ${m.id}`), (e: Error) => void outcomes.push(`long ${e.name}`));
    const forever = queue.get({ timeout: Number.POSITIVE_INFINITY }).then((m) => void outcomes.push(`forever ${m.id}`), (e: Error) => void outcomes.push(`forever ${e.name}`));
    await sleep(50);
    assert.deepEqual(outcomes, [], "neither settled");
    bus.twitter("q:one");
    bus.twitter("q:two");
    await Promise.all([long, forever]);
    assert.deepEqual(outcomes, ["long q:one", "forever q:two"]);
    await assert.rejects(queue.get({ timeout: 10 }), QueueTimeoutError, "a short timeout still times out");
    queue.close();
  });

  it("refuses NaN and negative durations, showing NaN and -Infinity as such", async () => {
    assert.throws(() => checkDuration("timeout", Number.NaN), (e: unknown) => e instanceof InvalidArgumentError && /invalid timeout NaN/.test(e.message));
    assert.throws(() => setLongTimeout(() => {}, Number.NEGATIVE_INFINITY), /invalid delay -Infinity/);
    const queue = new Queue("q:*", { bus: new Bus() });
    await assert.rejects(queue.get({ timeout: Number.NaN }), /invalid timeout NaN/);
    queue.close();
  });
});
