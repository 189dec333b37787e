// The routing index keeps a pattern's lone entry without an array and grows or shrinks between the two
// forms as entries come and go: delivery order and the pattern events must not notice.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/index.js";

describe("routing index", () => {
  it("delivers in registration order across patterns with one and with several followers, through removals", () => {
    const bus = new Bus();
    const got: string[] = [];
    const follower = (label: string) => () => void got.push(label);
    const a = bus.follow("x:*", follower("a"));
    bus.follow("x:y", follower("b"));
    bus.follow("x", follower("c")); // the same pattern as "x:*": x:* has two entries now
    bus.follow("*:y", follower("d"));
    assert.equal(bus.twitter("x:y"), 4);
    assert.deepEqual(got, ["a", "b", "c", "d"]);

    got.length = 0;
    assert.equal(a(), true); // x:* back to one entry
    assert.equal(a(), false);
    bus.follow("x:y", follower("e")); // x:y grows to two
    bus.follow("x:*", follower("f")); // x:* grows again
    assert.equal(bus.twitter("x:y"), 5);
    assert.deepEqual(got, ["b", "c", "d", "e", "f"]);
    assert.deepEqual(bus.patterns().map((p) => p.id).sort(), ["*:y", "x:*", "x:y"]);
    bus.close();
  });

  it("a sender wildcard reaches every matching pattern in its namespace, in registration order", () => {
    const bus = new Bus();
    const got: string[] = [];
    bus.follow("*@ns:go", () => void got.push("ns-any"));
    bus.follow("a:go", () => void got.push("a"));
    bus.follow("b@ns:go", () => void got.push("ns-b1"));
    bus.follow("b@ns:go", () => void got.push("ns-b2"));
    bus.follow("b@ns:stop", () => void got.push("ns-stop"));
    assert.equal(bus.twitter("*@ns:go"), 3);
    assert.deepEqual(got, ["ns-any", "ns-b1", "ns-b2"]);
    got.length = 0;
    assert.equal(bus.twitter("*:*"), 1);
    assert.deepEqual(got, ["a"]);
    bus.close();
  });

  it("emits unfollow when the last of several followers of a pattern goes, and follow when it comes back", () => {
    const bus = new Bus();
    const events: string[] = [];
    bus.on("follow", (pattern) => void events.push(`+${pattern.id}`));
    bus.on("unfollow", (pattern) => void events.push(`-${pattern.id}@${pattern.namespace}`));
    const stops = [1, 2, 3].map(() => bus.follow("job@work", () => {}));
    for (const stop of stops.reverse()) stop();
    bus.follow("job@work:*", () => {});
    assert.deepEqual(events, ["+job@work:*", "-job@work:*@work", "+job@work:*"]);
    bus.close();
  });
});
