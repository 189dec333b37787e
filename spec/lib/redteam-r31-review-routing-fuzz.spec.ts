// Red team r31 review: seeded model-based fuzz of the routing index against an array spliced on removal
// (trivially correct). Patterns are drawn so a few lists grow past the 64 entries after which a removal
// leaves a Removed place, get shrank, shrink back under it and grow again; between steps, removals
// of entries removed already, of look-alikes never added (same seq and key, or an unused seq), and
// lookups of concrete and wildcard identifiers. Every step: the remove's outcome ("last" exactly when the
// pattern's last entry goes), size, version, patterns, all() and each lookup, in order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { matches, parseIdentifier } from "../../lib/identifier.js";
import { RoutingIndex } from "../../lib/routing-index.js";
import { random } from "../helpers/seeded-random.js";

interface Entry {
  readonly seq: number;
  readonly key: string;
}

const NAMES = ["a", "b", "*"];
const ACTIONS = ["x", "y", "*"];
const NAMESPACES = ["", "n"];
const ALL_KEYS = NAMESPACES.flatMap((ns) =>
  NAMES.flatMap((name) => ACTIONS.map((action) => parseIdentifier(`${name}${ns === "" ? "" : `@${ns}`}:${action}`).id)),
);
// Most additions go to two patterns: their lists cross 64 entries both ways.
const HOT = [parseIdentifier("a:x").id, parseIdentifier("*@n:y").id];

function run(seed: number, steps: number): { longest: number; shrank: number } {
  const next = random(seed);
  const pick = <V>(values: readonly V[]): V => values[Math.floor(next() * values.length)] as V;
  const index = new RoutingIndex<Entry>();
  let live: Entry[] = [];
  const gone: Entry[] = [];
  let seq = 0;
  let longest = 0;
  let shrank = 0;
  let phaseGrow = true;
  const count = (key: string) => live.filter((e) => e.key === key).length;
  for (let step = 0; step < steps; step++) {
    if (step % 1_000 === 0) phaseGrow = !phaseGrow || live.length < 40;
    const version = index.version;
    const roll = next();
    const what = `seed ${seed} step ${step}`;
    const adding = phaseGrow ? 0.7 : 0.2;
    const removing = adding + (phaseGrow ? 0.15 : 0.65);
    if (roll < adding) {
      const entry = { seq: ++seq, key: next() < 0.8 ? pick(HOT) : pick(ALL_KEYS) };
      const isNew = count(entry.key) === 0;
      assert.equal(index.add(entry), isNew, what);
      live.push(entry);
      assert.notEqual(index.version, version, what);
    } else if (roll < removing && live.length > 0) {
      // Oldest, newest or any: the binary search's ends and middle.
      const how = next();
      const at = how < 0.15 ? 0 : how < 0.3 ? live.length - 1 : Math.floor(next() * live.length);
      const entry = live[at] as Entry;
      const before = count(entry.key);
      const outcome = index.remove(entry);
      if (before > 64 && count(entry.key) - 1 <= 64) shrank++;
      live.splice(at, 1);
      gone.push(entry);
      assert.equal(outcome, before === 1 ? "last" : true, what);
      assert.notEqual(index.version, version, what);
    } else if (roll < removing + 0.07 && gone.length > 0) {
      assert.equal(index.remove(pick(gone)), false, `${what}: removed twice`);
      assert.equal(index.version, version, what);
    } else if (live.length > 0) {
      const twin = pick(live);
      const unknown = next() < 0.5 ? { seq: twin.seq, key: twin.key } : { seq: seq + 0.5, key: twin.key };
      assert.equal(index.remove(unknown), false, `${what}: never added`);
      assert.equal(index.version, version, what);
    }
    for (const key of HOT) longest = Math.max(longest, count(key));
    assert.equal(index.size, live.length, what);
    for (let probe = 0; probe < 3; probe++) {
      const target = parseIdentifier(`${pick(NAMES)}${pick(NAMESPACES) === "" ? "" : "@n"}:${pick(ACTIONS)}`);
      const expected = live.filter((e) => matches(e.key, target));
      assert.deepEqual(index.lookup(target), expected, `${what}: lookup ${target.id}`);
    }
    if (step % 50 === 0) {
      assert.deepEqual(index.all(), live, what);
      assert.deepEqual(
        index
          .patterns()
          .map((p) => p.id)
          .sort(),
        [...new Set(live.map((e) => e.key))].sort(),
        what,
      );
    }
  }
  // Emptied at the end: every pattern goes with a "last", and nothing is left.
  for (const entry of [...live].reverse()) {
    const outcome = index.remove(entry);
    const others = live.filter((e) => e.key === entry.key && e !== entry).length;
    live = live.filter((e) => e !== entry);
    assert.equal(outcome, others === 0 ? "last" : true, `seed ${seed} draining`);
    assert.deepEqual(
      index.lookup(parseIdentifier(entry.key)),
      live.filter((e) => matches(e.key, entry.key)),
    );
  }
  assert.equal(index.size, 0);
  assert.deepEqual(index.patterns(), []);
  return { longest, shrank };
}

describe("red team r31 review: routing index fuzzed against a spliced array", () => {
  it("routes, removes and reports like the reference through lists crossing 64 entries both ways", () => {
    let steps = 0;
    for (const seed of [1, 2, 3, 4, 5]) {
      const { longest, shrank } = run(seed, 5_000);
      steps += 5_000;
      assert.ok(longest > 130, `seed ${seed}: the lists must grow long (longest ${longest})`);
      assert.ok(shrank > 0, `seed ${seed}: a long list must shrink back under 64 (shrank ${shrank})`);
    }
    assert.equal(steps, 25_000);
  });

  it("through a bus: sends reach the reference's followers in order, follow/unfollow once per pattern's first/last", () => {
    const next = random(42);
    const pick = <V>(values: readonly V[]): V => values[Math.floor(next() * values.length)] as V;
    const bus = new Bus();
    const events: string[] = [];
    bus.on("follow", (pattern) => void events.push(`+${pattern.id}`));
    bus.on("unfollow", (pattern) => void events.push(`-${pattern.id}`));
    const live: { n: number; key: string; stop: () => boolean }[] = [];
    const stopped: (() => boolean)[] = [];
    const got: number[] = [];
    let longest = 0;
    for (let step = 0, n = 0; step < 6_000; step++) {
      const grow = Math.floor(step / 1_000) % 2 === 0;
      const roll = next();
      const expectedEvents: string[] = [];
      if (roll < (grow ? 0.6 : 0.2)) {
        const key = next() < 0.8 ? pick(HOT) : pick(ALL_KEYS);
        const id = ++n;
        if (!live.some((f) => f.key === key)) expectedEvents.push(`+${key}`);
        live.push({ n: id, key, stop: bus.follow(key, () => void got.push(id)) });
      } else if (roll < 0.9 && live.length > 0) {
        const [gone] = live.splice(Math.floor(next() * live.length), 1) as [(typeof live)[number]];
        if (!live.some((f) => f.key === gone.key)) expectedEvents.push(`-${gone.key}`);
        assert.equal(gone.stop(), true);
        stopped.push(gone.stop);
      } else if (stopped.length > 0) {
        assert.equal(pick(stopped)(), false);
      }
      assert.deepEqual(events.splice(0), expectedEvents, `step ${step}`);
      longest = Math.max(longest, live.filter((f) => f.key === HOT[0]).length);
      const target = `${pick(NAMES)}${pick(NAMESPACES) === "" ? "" : "@n"}:${pick(ACTIONS)}`;
      assert.equal(bus.twitter(target), got.length);
      assert.deepEqual(
        got.splice(0),
        live.filter((f) => matches(f.key, target)).map((f) => f.n),
        `step ${step}: ${target}`,
      );
    }
    assert.equal(bus.size, live.length);
    assert.ok(longest > 100, `a list must grow long (longest ${longest})`);
    bus.close();
  });
});
