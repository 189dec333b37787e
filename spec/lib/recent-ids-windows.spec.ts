import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RecentIds } from "../../lib/recent-ids.js";

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
      const ids = new RecentIds(capacity);
      const reference = new ReferenceIds(capacity);
      const stream = idStream(capacity * 31 + origins, 20_000, origins);
      for (let i = 0; i < stream.length; i++) {
        const id = stream[i] as string;
        const probe = stream[Math.max(0, i - 1 - (i % (capacity + 5)))] as string;
        assert.equal(ids.has(probe), reference.has(probe), `has(${probe}) before add #${i}`);
        assert.equal(ids.has(id), reference.has(id), `has(${id}) before add #${i}`);
        assert.equal(ids.add(id), reference.add(id), `add(${id}) #${i}`);
        assert.equal(ids.size, reference.size, `size after add #${i}`);
      }
    });
  }

  it("a whole batch sent again after a jump of its origin's numbers is still recognised", () => {
    const ids = new RecentIds(10_000);
    const batch = Array.from({ length: 1_000 }, (_, i) => `b1/${5_000 + i}`);
    for (const id of batch) assert.equal(ids.add(id), true);
    assert.equal(ids.add("b1/900000000"), true); // far ahead: the window moves past the batch
    for (const id of batch) assert.equal(ids.add(id), false, `${id} is remembered after the jump`);
    assert.equal(ids.add("b1/4999"), true);
  });
});
