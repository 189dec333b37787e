// Red team r30 review: a guard returning a promise is reported as failing (r30), and its rejection was
// handled by Promise.resolve(result).catch(): for a thenable that is no promise, that called its `then`,
// which a lazy thenable (a query builder, a mongoose Query) takes as "run now". A guard written by mistake
// as `(m) => db.users.where(...).first()` ran its query once per message, its failure swallowed. Only a
// native promise (already running) has its rejection handled now; a thenable is reported and left alone.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, type BerryError, FollowerError } from "../../lib/index.js";
import { sleep } from "../helpers/wait-for.js";

describe("red team r30 review: a guard returning a lazy thenable", () => {
  it("is reported per message, and its `then` is never called", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const reports: BerryError[] = [];
    bus.on("error", (error) => reports.push(error));
    let queries = 0;
    const lazyQuery = {
      // biome-ignore lint/suspicious/noThenProperty: a lazy thenable (a query builder) is what the guard returns
      then(resolve: (value: boolean) => void): void {
        queries++;
        resolve(true);
      },
    };
    const ran: number[] = [];
    bus.follow("job:run", (m) => ran.push(m.args[0] as number), { guard: (() => lazyQuery) as never, label: "worker" });
    assert.equal(bus.twitter("job:run", 1), 0);
    assert.equal(bus.twitter("job:run", 2), 0);
    await sleep(10);
    assert.deepEqual(ran, []);
    assert.equal(reports.length, 2);
    assert.ok(reports[0] instanceof FollowerError && reports[0].follower === "worker (guard)", String(reports[0]));
    assert.equal(queries, 0, "the guard's thenable was run");
  });

  it("a native promise's rejection is still handled", async (t) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    t.after(() => process.off("unhandledRejection", onUnhandled));
    const bus = new Bus();
    t.after(() => bus.close());
    const reports: BerryError[] = [];
    bus.on("error", (error) => reports.push(error));
    bus.follow("job:run", () => {}, { guard: (async () => Promise.reject(new Error("no"))) as never });
    bus.twitter("job:run");
    await sleep(20);
    assert.equal(reports.length, 1);
    assert.deepEqual(unhandled, []);
  });
});
