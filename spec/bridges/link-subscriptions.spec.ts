import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Identifier } from "../../lib/identifier.js";
import { Bus } from "../../lib/bus.js";
import { Queue } from "../../lib/queue.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { waitFor } from "../helpers/wait-for.js";

// A MemoryLink that records what the Link base asks the transport to subscribe to.
class RecordingLink extends MemoryLink {
  readonly changes: string[] = [];
  protected override async importFiltersChanged(added: readonly Identifier[], removed: readonly Identifier[]): Promise<void> {
    for (const filter of added) this.changes.push(`+${filter.id}`);
    for (const filter of removed) this.changes.push(`-${filter.id}`);
  }
}

describe("bus pattern events", () => {
  it("emits follow for a pattern's first receiver and unfollow for its last", () => {
    const bus = new Bus();
    const events: string[] = [];
    bus.on("follow", (pattern) => void events.push(`+${pattern.id}`));
    bus.on("unfollow", (pattern) => void events.push(`-${pattern.id}`));
    const first = bus.follow("job:*", () => {});
    const second = bus.follow("job", () => {}); // the same pattern, "job:*"
    const queue = new Queue("mail:sent", { bus });
    assert.deepEqual(events, ["+job:*", "+mail:sent"]);
    assert.deepEqual(bus.patterns().map((p) => p.id).sort(), ["job:*", "mail:sent"]);
    first();
    assert.deepEqual(events, ["+job:*", "+mail:sent"], "job:* still has a follower");
    second();
    queue.close();
    assert.deepEqual(events, ["+job:*", "+mail:sent", "-job:*", "-mail:sent"]);
    assert.deepEqual(bus.patterns(), []);
  });
});

describe("Link run-time subscriptions", () => {
  it("subscribe/unsubscribe change what is injected, and tell the transport", async () => {
    const [left, right] = RecordingLink.pair({ bus: new Bus() }, { bus: new Bus(), importFilters: ["orders:*"] });
    const got: string[] = [];
    right.bus.follow("*:*", (m) => void got.push(`${m.id}=${m.args[0]}`));

    left.bus.twitter("orders:new", 1);
    left.bus.twitter("mail:sent", 2);
    await waitFor(() => left.stats.sent === 2, "2 sent");
    assert.deepEqual(got, ["orders:new=1"]);

    await right.subscribe("mail:*");
    await right.subscribe("mail:*"); // already there: no second change
    assert.deepEqual(right.importFilters, ["orders:*", "mail:*"]);
    left.bus.twitter("mail:sent", 3);
    await waitFor(() => got.length === 2, "mail:sent imported");
    assert.deepEqual(got, ["orders:new=1", "mail:sent=3"]);

    assert.equal(await right.unsubscribe("orders"), true, '"orders" is "orders:*"');
    assert.equal(await right.unsubscribe("orders:*"), false, "already gone");
    left.bus.twitter("orders:new", 4);
    await waitFor(() => left.stats.sent === 4, "4 sent");
    assert.deepEqual(got, ["orders:new=1", "mail:sent=3"], "orders:new no longer imported");
    assert.deepEqual(right.changes, ["+mail:*", "-orders:*"]);
    await left.close();
    await right.close();
  });

  it('importFilters: "followers" imports exactly what the bus follows, as followers come and go', async () => {
    const b = new Bus();
    const early = b.follow("early:*", () => {});
    const [left, right] = RecordingLink.pair({ bus: new Bus() }, { bus: b, importFilters: "followers" });
    assert.deepEqual(right.importFilters, ["early:*"]);
    const got: string[] = [];
    const stop = b.follow("late:x", (m) => void got.push(m.id));
    early();
    await waitFor(() => right.changes.length === 2, "two changes");
    assert.deepEqual(right.changes, ["+late:x", "-early:*"]);
    assert.deepEqual(right.importFilters, ["late:x"]);
    left.bus.twitter("early:y", 1);
    left.bus.twitter("late:x", 2);
    await waitFor(() => left.stats.sent === 2, "2 sent");
    assert.deepEqual(got, ["late:x"]);
    stop();
    await waitFor(() => right.importFilters.length === 0, "nothing imported once nothing is followed");
    await left.close();
    await right.close();
    // After close the link no longer tracks the bus.
    b.follow("after:close", () => {});
    assert.deepEqual(right.importFilters, []);
  });
});
