// Timers berrymq arms from a computed delay (what is left of a deadline) or from a user's duration are
// armed in whole milliseconds. One Node Timeout armed with a fractional delay turns the `_idleTimeout`
// field of every Timeout into a double, and V8 then drops the optimized code of every function that has
// handled a timer (Node's timer lists, and on a round trip's path the request table, link pumps…):
// compiling them again takes a core for milliseconds inside the round trips of that moment
// (bench/results/zeromq.md, 2026-12-06). The BrokerLink's receipt timer has its own spec
// (spec/bridges/zeromq/timer-delays.spec.ts).
import assert from "node:assert/strict";
import { afterEach, it, type TestContext } from "node:test";
import { Bus } from "../../lib/bus.js";
import { setLongTimeout } from "../../lib/long-timer.js";
import { RequestTimeoutError } from "../../lib/request-errors.js";
import { within } from "../../lib/request.js";
import { socketPair, specStream } from "../helpers/socket-pair.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

const toClose: { destroy(): void }[] = [];
afterEach(() => {
  for (const thing of toClose.splice(0)) thing.destroy();
});

// The delays of the timers armed while `marker` is on the stack (a function of the code under test).
function spyOnTimers(t: TestContext, marker: string): number[] {
  const delays: number[] = [];
  const original = globalThis.setTimeout;
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) => {
    if (new Error().stack?.includes(marker) === true) delays.push(Number(delay));
    return original(callback, delay, ...args);
  }) as typeof setTimeout;
  t.after(() => {
    globalThis.setTimeout = original;
  });
  return delays;
}

function assertWholeMs(delays: readonly number[], what: string): void {
  assert.ok(delays.length > 0, `${what}: no timer armed`);
  for (const delay of delays) assert.ok(Number.isInteger(delay) && delay >= 1, `${what}: a timer armed for ${delay} ms`);
}

it("request timeouts: the re-arm for a later request of the same timeout, and a fractional timeout, are whole ms; each request still times out no earlier than its timeout", async (t) => {
  const delays = spyOnTimers(t, "RequestTable");
  const bus = new Bus({ id: "whole-ms" });
  const fractional = await bus.ask("nobody:home", within({ timeout: 10.5 })).catch((e: unknown) => e);
  assert.ok(fractional instanceof RequestTimeoutError);
  const options = within({ timeout: 60 });
  const started = performance.now();
  const timedOut = (request: Promise<unknown>, from: number): Promise<[unknown, number]> =>
    request.then(
      (value) => [value, Number.NaN],
      (error: unknown) => [error, performance.now() - from],
    );
  const first = timedOut(bus.ask("nobody:home", options), started);
  // The second request of that timeout waits behind the first: the timer is armed again for what is
  // left of its deadline when the first expires (a fractional remainder before the fix).
  await sleep(23);
  const secondStarted = performance.now();
  const second = timedOut(bus.ask("nobody:home", options), secondStarted);
  const [[firstError, firstAfter], [secondError, secondAfter]] = await Promise.all([first, second]);
  assert.ok(firstError instanceof RequestTimeoutError && secondError instanceof RequestTimeoutError);
  assert.ok(firstAfter >= 60 && secondAfter >= 60, `timed out after ${firstAfter} and ${secondAfter} ms`);
  assert.ok(delays.length >= 3, `the timer was armed for each request: ${delays.join(", ")}`);
  assertWholeMs(delays, "request table");
  bus.close();
});

it("setLongTimeout: a fractional delay is armed in whole ms and fires no earlier than asked", async (t) => {
  const delays = spyOnTimers(t, "setLongTimeout");
  const started = performance.now();
  const fired = await new Promise<number>((resolve) => setLongTimeout(() => resolve(performance.now() - started), 20.25));
  assert.ok(fired >= 20.25, `fired after ${fired} ms`);
  assertWholeMs(delays, "setLongTimeout");
});

it("link stream: the acknowledgement timer re-armed for a later batch is whole ms", async (t) => {
  const [mine, theirs] = await socketPair(toClose);
  const stream = specStream(mine);
  t.after(() => stream.close());
  const delays = spyOnTimers(t, "LinkStream");
  const timeout = 150;
  // Batch 1 arms the timer; the far side acknowledges it; batch 2 goes a fraction of the timeout later
  // and is still waiting when the timer fires: it is armed again for what is left of batch 2's time.
  const firstAcknowledged = stream.sendBatch([{ n: 1 }], timeout) as Promise<unknown>;
  theirs.write('{"a":1}\n');
  await firstAcknowledged;
  await sleep(47);
  const second = (stream.sendBatch([{ n: 2 }], timeout) as Promise<unknown>).catch((e: Error) => e);
  await waitFor(() => delays.length >= 2, "the timer armed again for batch 2", 2_000);
  theirs.write('{"a":2}\n');
  assert.ok(!((await second) instanceof Error), `batch 2 was acknowledged: ${String(await second)}`);
  assertWholeMs(delays, "link stream acknowledgement timer");
});
