// Red team r30: a guard passes a message only when it returns `true`. An async guard (or any guard
// returning a promise) therefore dropped every message without a word: twitter() returned 0, nothing was
// reported, and a rejecting one left an unhandled rejection per message. It is reported now, per message,
// as the follower's guard failing (FollowerError, cause InvalidArgumentError), and its rejection is handled.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, type BerryError, FollowerError, InvalidArgumentError } from "../../lib/index.js";
import { sleep } from "../helpers/wait-for.js";

describe("a guard that returns a promise is reported, not a silent no (r30)", () => {
  it("an async guard: the message is not delivered, and the failure is reported once per message", async () => {
    const bus = new Bus();
    const reports: BerryError[] = [];
    bus.on("error", (error) => reports.push(error));
    const ran: string[] = [];
    const asyncGuard = (async () => true) as unknown as () => boolean;
    bus.follow("job:run", () => ran.push("guarded"), { guard: asyncGuard, label: "worker" });
    bus.follow("job:run", () => ran.push("plain"));
    assert.equal(bus.twitter("job:run"), 1);
    assert.equal(bus.twitter("job:run"), 1);
    assert.deepEqual(ran, ["plain", "plain"]);
    assert.equal(reports.length, 2);
    const report = reports[0];
    assert.ok(report instanceof FollowerError, String(report));
    assert.equal(report.follower, "worker (guard)");
    assert.ok(report.cause instanceof InvalidArgumentError);
    assert.match(report.message, /a guard is synchronous \(a promise is never true\)/);
    bus.close();
  });

  it("a rejecting async guard leaves no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on("unhandledRejection", onUnhandled);
    try {
      const bus = new Bus();
      const reports: BerryError[] = [];
      bus.on("error", (error) => reports.push(error));
      const rejecting = (async () => {
        throw new Error("guard rejected");
      }) as unknown as () => boolean;
      bus.follow("job:run", () => {}, { guard: rejecting });
      assert.equal(bus.twitter("job:run"), 0);
      await sleep(20);
      assert.deepEqual(unhandled, []);
      assert.equal(reports.length, 1);
      bus.close();
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("a synchronous guard still passes on true only, without a report", () => {
    const bus = new Bus();
    const reports: BerryError[] = [];
    bus.on("error", (error) => reports.push(error));
    let received = 0;
    const truthy = ((m: { args: readonly unknown[] }) => m.args[0]) as unknown as () => boolean;
    bus.follow("job:run", () => received++, { guard: truthy });
    bus.follow("job:run", () => received++, { guard: (m) => m.args[0] === "yes" });
    assert.equal(bus.twitter("job:run", "yes"), 1, "only `true` passes; a truthy string does not");
    assert.equal(bus.twitter("job:run", "no"), 0);
    assert.equal(received, 1);
    assert.deepEqual(reports, []);
    bus.close();
  });
});
