import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { RecentIds } from "../../lib/recent-ids.js";
import { heapUsed } from "../helpers/heap.js";

// What RecentIds promised before it kept bus-style ids as bits: a Set of exactly the last `capacity`.
class ReferenceIds {
  readonly #ids = new Set<string>();
  readonly #order: string[] = [];
  constructor(readonly capacity: number) {}
  has(id: string): boolean {
    return this.#ids.has(id);
  }
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    this.#order.push(id);
    if (this.#order.length > this.capacity) this.#ids.delete(this.#order.shift() as string);
    return true;
  }
  get size(): number {
    return this.#ids.size;
  }
}

// A small deterministic generator, so that a failure can be replayed.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
}

// Message ids as links see them: mostly `<bus id>/<seq>` in order, some late or resent, some jumps
// ahead, and ids of other shapes (leading zeros, no number, huge numbers, many origins).
function idStream(seed: number, count: number, origins: number): string[] {
  const next = random(seed);
  const seqs = Array.from({ length: origins }, () => Math.floor(next() * 1_000_000));
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const origin = Math.floor(next() ** 2 * origins);
    const roll = next();
    let seq = seqs[origin] as number;
    if (roll < 0.6) seq = ++(seqs[origin] as number);
    else if (roll < 0.8) seq = Math.max(0, seq - Math.floor(next() * 300)); // late, or a resend
    else if (roll < 0.85) seq = (seqs[origin] as number) += Math.floor(next() * 5_000); // a jump ahead
    else if (roll < 0.9) {
      ids.push(`bus-${origin}/0${seq}`); // not how a bus writes a number: another id
      continue;
    } else if (roll < 0.93) {
      ids.push(`bus-${origin}/${seq}0000000000000`); // too many digits for a window
      continue;
    } else if (roll < 0.96) {
      ids.push(`other-${Math.floor(next() * 50)}`);
      continue;
    }
    ids.push(`bus-${origin}/${seq}`);
  }
  return ids;
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Message ids as buses write them now, `<bus id>/<seq><8 random base64url characters>`: the same stream
// of numbers, each with its own suffix, and besides them forged ids (a seen number with another suffix),
// suffixes that are not 8 base64url characters, suffixes of digits only, and ids without one.
function suffixedIdStream(seed: number, count: number, origins: number): string[] {
  const next = random(seed ^ 0x5eed);
  const suffixOf = new Map<string, string>();
  const randomSuffix = (): string => Array.from({ length: 8 }, () => BASE64URL[Math.floor(next() * 64)]).join("");
  return idStream(seed, count, origins).map((id) => {
    const roll = next();
    if (!/^bus-\d+\/[1-9]\d*$|^bus-\d+\/0$/.test(id)) return id;
    let suffix = suffixOf.get(id);
    if (suffix === undefined) {
      // Digits only now and then: the id then reads as digits and suffix only when digits alone can't.
      suffix = next() < 0.05 ? String(Math.floor(next() * 1e8)).padStart(8, "1") : randomSuffix();
      suffixOf.set(id, suffix);
    }
    if (roll < 0.08) return `${id}${randomSuffix()}`; // forged: a seen number, another suffix
    if (roll < 0.1) return `${id}${suffix.slice(0, 7)}`; // 7 characters: another kind of id
    if (roll < 0.12) return `${id}${suffix.slice(0, 7)}.`; // not base64url
    if (roll < 0.14) return id; // no suffix at all
    return `${id}${suffix}`;
  });
}

// Every has (of the id and of one seen a while before), add and size of a RecentIds as the reference's.
function asTheReference(capacity: number, stream: readonly string[]): void {
  const ids = new RecentIds(capacity);
  const reference = new ReferenceIds(capacity);
  for (let i = 0; i < stream.length; i++) {
    const id = stream[i] as string;
    const probe = stream[Math.max(0, i - 1 - (i % (capacity + 5)))] as string;
    assert.equal(ids.has(probe), reference.has(probe), `has(${probe}) before add #${i}`);
    assert.equal(ids.has(id), reference.has(id), `has(${id}) before add #${i}`);
    assert.equal(ids.add(id), reference.add(id), `add(${id}) #${i}`);
    assert.equal(ids.size, reference.size, `size after add #${i}`);
  }
}

describe("RecentIds: message ids kept as bits per origin remember exactly what a Set of the last `capacity` would", () => {
  for (const [capacity, origins] of [
    [1, 2],
    [7, 3],
    [100, 5],
    [1_000, 3],
    [500, 100], // more origins than get a window of their own
    [10_000, 3], // a ring of three chunks (4,096 entries each), filled and wrapped around
  ] as const) {
    it(`capacity ${capacity}, ${origins} origins: every add, has and size as the reference`, () => {
      asTheReference(capacity, idStream(capacity * 31 + origins, 20_000, origins));
    });
  }

  for (const [capacity, origins] of [
    [1, 2],
    [7, 3],
    [100, 5],
    [1_000, 3],
    [500, 100],
    [10_000, 3],
  ] as const) {
    it(`capacity ${capacity}, ${origins} origins, ids with random suffixes and forged ones: as the reference`, () => {
      asTheReference(capacity, suffixedIdStream(capacity * 37 + origins, 20_000, origins));
    });
  }

  it("a forged id of a number seen does not hide the real one, in either order, nor after a jump", () => {
    const ids = new RecentIds(1_000);
    assert.equal(ids.add("b1/5AAAAAAAA"), true);
    assert.equal(ids.add("b1/5BBBBBBBB"), true, "the same number with another suffix is another id");
    assert.equal(ids.add("b1/5BBBBBBBB"), false);
    assert.equal(ids.add("b1/5AAAAAAAA"), false);
    assert.equal(ids.add("b1/5"), true, "the number alone is another id too");
    assert.equal(ids.add("b1/6________"), true);
    assert.equal(ids.add("b1/6-_-_-_-_"), true);
    assert.equal(ids.add("b1/900000000zzzzzzzz"), true); // the window moves past 5 and 6
    for (const id of ["b1/5AAAAAAAA", "b1/5BBBBBBBB", "b1/5", "b1/6________", "b1/6-_-_-_-_"]) {
      assert.equal(ids.has(id), true, `${id} is remembered after the jump`);
      assert.equal(ids.add(id), false);
    }
    assert.equal(ids.has("b1/5CCCCCCCC"), false);
  });

  it("a bus's own ids (lib/message.ts) are remembered, and as many as a Set would", () => {
    const ids = new RecentIds(5_000);
    const reference = new ReferenceIds(5_000);
    const bus = new Bus({ id: "suffixed" });
    const made: string[] = [];
    bus.follow("a:b", (message) => void made.push(message.messageId));
    for (let i = 0; i < 12_000; i++) bus.twitter("a:b", i);
    bus.close();
    assert.equal(made.length, 12_000);
    assert.match(made[0] as string, /^suffixed\/\d+[A-Za-z0-9_-]{8}$/);
    for (const id of made) assert.equal(ids.add(id), reference.add(id));
    for (const id of made) assert.equal(ids.has(id), reference.has(id), id);
  });

  it("100,000 ids of a few buses are remembered without keeping their strings", () => {
    const origins = ["ask-peer", "answer-peer", "b3"];
    const suffix = (n: number): string => Array.from({ length: 8 }, (_, k) => BASE64URL[(n * 7 + k * 13) % 64]).join("");
    const before = heapUsed();
    const ids = new RecentIds(100_000);
    for (let n = 0; n < 150_000; n++) ids.add(`${origins[n % 3]}/${1_000_000_000_000 + n}${suffix(n)}`);
    // The ring's 100,000 references are 0.8 MB; a Set of the strings kept 11.7 MB in all.
    const kept = heapUsed() - before;
    assert.ok(kept < 2_000_000, `100,000 ids keep ${kept} bytes of heap`);
    assert.equal(ids.size, 100_000);
    assert.equal(ids.has(`ask-peer/${1_000_000_000_000 + 149_997}${suffix(149_997)}`), true);
    assert.equal(ids.has(`ask-peer/${1_000_000_000_000 + 49_998}${suffix(49_998)}`), false);
  });

  it("a whole batch sent again after a jump of its origin's numbers is still recognised", () => {
    const ids = new RecentIds(10_000);
    const batch = Array.from({ length: 1_000 }, (_, i) => `b1/${5_000 + i}`);
    for (const id of batch) assert.equal(ids.add(id), true);
    assert.equal(ids.add("b1/900000000"), true); // far ahead: the window moves past the batch
    for (const id of batch) assert.equal(ids.add(id), false, `${id} is remembered after the jump`);
    assert.equal(ids.add("b1/4999"), true);
  });
});
