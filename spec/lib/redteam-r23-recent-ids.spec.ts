import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { createMessage } from "../../lib/message.js";
import { RecentIds } from "../../lib/recent-ids.js";
import { heapUsed } from "../helpers/heap.js";
import { random } from "../helpers/seeded-random.js";

// What RecentIds promises: exactly the ids a Set of the last `capacity` added would hold. A ring, so
// that a reference of 100,000 ids costs O(1) an add (Array.shift copies).
class ReferenceIds {
  readonly #ids = new Set<string>();
  readonly #ring: (string | undefined)[];
  #next = 0;
  constructor(readonly capacity: number) {
    this.#ring = new Array(capacity);
  }
  has(id: string): boolean {
    return this.#ids.has(id);
  }
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    const oldest = this.#ring[this.#next];
    if (oldest !== undefined) this.#ids.delete(oldest);
    this.#ring[this.#next] = id;
    this.#next = (this.#next + 1) % this.capacity;
    this.#ids.add(id);
    return true;
  }
  get size(): number {
    return this.#ids.size;
  }
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Origins an attacker or an odd peer may use: empty, slashes at either end, non-ASCII, a lone surrogate.
const ORIGINS = ["b", "", "b/", "/b", "a/b", "ü", "\ud800", "x".repeat(300), "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8"];
// Suffixes: few, so that forged ids of one number collide often; some are not 8 base64url characters
// (digits only, 7 or 9 characters, non-ASCII, a lone surrogate, a slash).
const SUFFIXES = [
  "AAAAAAAA",
  "AAAAAAAB",
  "________",
  "-_-_-_-_",
  "00000000",
  "12345678",
  "99999999",
  "zzzzzzzz",
  "",
  "AAAAAAA",
  "AAAAAAAAA",
  "AAAAAAA\u00e9",
  "AAAAAAA\ud800",
  "\udc00AAAAAAA",
  "AAA/AAAA",
];
// Numbers that read both ways or at the edges: past 15 digits, near 2^53, 9+ digit tails.
const EDGE_NUMBERS = [
  0,
  1,
  9,
  10,
  99_999_999,
  100_000_000,
  999_999_999_999_999,
  1_000_000_000_000_000,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  123_456_789_012_345,
];

// A stream of ids of `origins` origins: numbers consecutive, late, resent, jumping ahead by about
// `span` (the window of a ring of `capacity`) and back, written with or without leading zeros, with
// a suffix of a small set (forged ids of a seen number in any order), or as digit strings of 16-23
// characters (read as a number of up to 15 digits and a suffix of 8 digits).
function nastyStream(seed: number, count: number, capacity: number, origins: number): string[] {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const span = 32 * 2 ** Math.ceil(Math.log2(Math.ceil(capacity / 32) + 1));
  const cursors = Array.from({ length: origins }, () => Math.floor(next() * 1_000));
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const o = Math.floor(next() ** 2 * origins);
    const origin = ORIGINS[o] ?? `o${o}`;
    const roll = next();
    let n = cursors[o] as number;
    if (roll < 0.45) n = ++(cursors[o] as number);
    else if (roll < 0.6) n = Math.max(0, n - Math.floor(next() * (capacity + 40)));
    else if (roll < 0.66) n = (cursors[o] as number) += span - 33 + Math.floor(next() * 66);
    else if (roll < 0.7) n = (cursors[o] as number) += Math.floor(next() * 3 * span);
    else if (roll < 0.72)
      n = cursors[o] = Math.max(0, n - span - Math.floor(next() * span)); // back
    else if (roll < 0.74) n = pick(EDGE_NUMBERS);
    else if (roll < 0.76) {
      ids.push(`${origin}/${"1234567890123456789012".slice(0, 16 + Math.floor(next() * 8))}`);
      continue;
    }
    let digits = String(n);
    const shape = next();
    if (shape < 0.03) digits = `0${digits}`;
    else if (shape < 0.05) digits = `${digits}${String(Math.floor(next() * 100_000_000)).padStart(8, "0")}`;
    const suffix = next() < 0.15 ? pick(SUFFIXES) : (SUFFIXES[(n * 7) % 4] as string);
    ids.push(next() < 0.01 ? `/${digits}${suffix}` : `${origin}/${digits}${suffix}`);
  }
  return ids;
}

// Buses that come and go: the origins sending move on (a bus restarted under a new id) and old ones
// come back now and then with numbers seen long ago, ids forged far ahead of a bus's numbers and with
// other suffixes, resends: windows are taken over by new origins and start again, while the Set holds
// ids of their numbers.
function churnStream(seed: number, count: number, capacity: number, totalOrigins: number): string[] {
  const next = random(seed);
  const period = Math.max(3, Math.floor(capacity / 4));
  const cursors = Array.from({ length: totalOrigins }, () => 1_000 + Math.floor(next() * 1_000));
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    let o = Math.floor(i / period) + Math.floor(next() * 3);
    if (next() < 0.1) o -= Math.floor(next() * 80); // an old bus back
    o = ((o % totalOrigins) + totalOrigins) % totalOrigins;
    const roll = next();
    let n = cursors[o] as number;
    if (roll < 0.55) n = ++(cursors[o] as number);
    else if (roll < 0.75) n = Math.max(0, n - Math.floor(next() * (capacity * 3 + 40)));
    else if (roll < 0.78)
      n = 999_999_999_999_000 + Math.floor(next() * 1_000); // forged far ahead
    else if (roll < 0.8) n = cursors[o] = Math.max(0, n - Math.floor(next() * 100_000)); // numbers start lower
    const suffix = next() < 0.1 ? (SUFFIXES[Math.floor(next() * 8)] as string) : (SUFFIXES[(n * 7) % 4] as string);
    ids.push(`c${o}/${n}${suffix}`);
  }
  return ids;
}

function compare(capacity: number, origins: number, seed: number, count: number, churn = false): void {
  const ids = new RecentIds(capacity);
  const reference = new ReferenceIds(capacity);
  const stream = churn ? churnStream(seed, count, capacity, origins) : nastyStream(seed, count, capacity, origins);
  const next = random(seed + 1);
  for (let i = 0; i < stream.length; i++) {
    const id = stream[i] as string;
    const probe = stream[Math.floor(next() * (i + 1))] as string;
    assert.equal(ids.has(probe), reference.has(probe), `seed ${seed}: has(${JSON.stringify(probe)}) before add #${i}`);
    assert.equal(ids.add(id), reference.add(id), `seed ${seed}: add(${JSON.stringify(id)}) #${i}`);
    assert.equal(ids.size, reference.size, `seed ${seed}: size after add #${i}`);
  }
  for (const id of new Set(stream))
    assert.equal(ids.has(id), reference.has(id), `seed ${seed}: has(${JSON.stringify(id)}) at the end`);
}

describe("red team r23: RecentIds remembers exactly what a Set of the last `capacity` ids would, on nasty streams", () => {
  for (const capacity of [1, 2, 3, 31, 32, 33, 63, 64, 65, 127, 128, 129, 4_095, 4_096, 4_097]) {
    it(`capacity ${capacity}: forged suffixes, edge numbers, odd origins, jumps ahead and back`, () => {
      for (const origins of [1, 4, 16]) compare(capacity, origins, capacity * 101 + origins, 12_000);
    });
  }

  it("capacity 100,000 with more origins (16) than windows (about 7), the ring wrapped three times", () => {
    compare(100_000, 16, 7, 400_000);
  });

  for (const capacity of [1, 2, 7, 33, 100, 1_000, 5_000]) {
    it(`capacity ${capacity}: buses come and go (200 origins, 64 windows at most), old ones come back, forged ids far ahead`, () => {
      for (const seed of [1, 2, 3]) compare(capacity, 200, capacity * 7 + seed, 40_000, true);
    });
  }

  it("capacity 100,000 (7 windows), 40 origins coming and going", () => {
    compare(100_000, 40, 11, 400_000, true);
  });
});

// ns an add over `count` ids made by `idOf`, each looked up first as a receiver does.
function nsPerAdd(capacity: number, count: number, idOf: (k: number) => string): number {
  const ids = new RecentIds(capacity);
  for (let k = 0; k < count; k++) {
    const id = idOf(k);
    if (!ids.has(id)) ids.add(id);
  }
  const start = process.hrtime.bigint();
  for (let k = count; k < 2 * count; k++) {
    const id = idOf(k);
    if (!ids.has(id)) ids.add(id);
  }
  return Number(process.hrtime.bigint() - start) / count;
}

describe("red team r23: ids jumping a window's span ahead cost about what the Set costs", () => {
  it("each jump of a whole span does not scan every word of the window (capacity 100,000: 4,096 words)", () => {
    const capacity = 100_000;
    const span = 32 * 4_096; // the window of a ring of 100,000
    // The attack: each id of one origin a span past the last, so that every add slides the whole window.
    const jumping = (k: number): string => `attacker/${1_000_000 + k * span}AAAAAAAA`;
    // The same numbers written with a leading zero: ids of no window, kept in the Set (what every id cost
    // before the windows).
    const inTheSet = (k: number): string => `attacker/0${1_000_000 + k * span}AAAAAAAA`;
    const jumps: number[] = [];
    const sets: number[] = [];
    for (let round = 0; round < 5; round++) {
      jumps.push(nsPerAdd(capacity, 20_000, jumping));
      sets.push(nsPerAdd(capacity, 20_000, inTheSet));
    }
    const median = (values: number[]): number => values.sort((a, b) => a - b)[2] as number;
    // a3ce996: 7.5-9 times the Set's cost (11-17 µs an add); with the summary of non-empty words ~2.
    assert.ok(
      median(jumps) < 4 * median(sets),
      `an add of a jumping id costs ${median(jumps).toFixed(0)} ns against ${median(sets).toFixed(0)} ns in the Set`,
    );
  });
});

describe("red team r23: a Bus receiving forged ids of messages it has seen or will see", () => {
  for (const dedupeWindow of [1, 64, 1_000, 100_000]) {
    it(`dedupeWindow ${dedupeWindow}: each injected id delivered as a Set of the window says; real ones never dropped`, () => {
      const source = new Bus({ id: "real" });
      const ids: string[] = [];
      source.follow("t:x", (message) => void ids.push(message.messageId));
      for (let i = 0; i < 600; i++) source.twitter("t:x", i);
      source.close();
      const next = random(dedupeWindow);
      const otherSuffix = (): string => Array.from({ length: 8 }, () => BASE64URL[Math.floor(next() * 64)]).join("");
      const victim = new Bus({ id: "victim", dedupeWindow });
      const delivered: string[] = [];
      victim.follow("t:x", (message) => void delivered.push(message.messageId));
      const reference = new ReferenceIds(dedupeWindow);
      const expected: string[] = [];
      const inject = (messageId: string): void => {
        const reached = victim.inject(createMessage({ identifier: "t:x", messageId, hops: ["real"] }));
        const fresh = reference.add(messageId);
        if (fresh) expected.push(messageId);
        assert.equal(reached !== undefined, fresh, `inject(${messageId})`);
      };
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i] as string;
        const digits = /^real\/(\d+)[A-Za-z0-9_-]{8}$/.exec(id)?.[1];
        assert.ok(digits !== undefined, `a bus's messageId: ${id}`);
        const n = Number(digits);
        // The attacker knows the numbers (seen and next), never the suffixes.
        for (const ahead of [0, 1, 2, 40]) inject(`real/${n + ahead}${otherSuffix()}`);
        inject(`real/${n + 1}`);
        inject(`real/${n}${id.slice(-8, -1)}`);
        inject(id);
        inject(ids[Math.max(0, i - 1 - (i % 7))] as string); // a resend of an earlier one
        inject(id);
      }
      victim.close();
      assert.deepEqual(delivered, expected);
      for (const id of ids) {
        const times = delivered.filter((d) => d === id).length;
        if (dedupeWindow >= 1_000) assert.equal(times, 1, `${id} delivered ${times} times`);
        else assert.ok(times >= 1, `${id} dropped`);
      }
    });
  }
});

describe("red team r23: a RecentIds of a capacity it cannot keep is refused, naming it", () => {
  for (const capacity of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31 - 1, 2 ** 31, 2 ** 33]) {
    it(`capacity ${capacity}: InvalidArgumentError (a3ce996: a TypeError at the first add, a RangeError, or built: past 2^31 - 2 a ring slot does not fit a window's 32-bit entry)`, () => {
      assert.throws(
        () => new RecentIds(capacity),
        (error: unknown) =>
          error instanceof InvalidArgumentError && error.argument === "capacity" && Object.is(error.value, capacity),
      );
    });
  }

  it("a Bus whose dedupeWindow is past what a window can number is refused before it allocates anything", () => {
    assert.throws(() => new Bus({ dedupeWindow: 2 ** 31 }), InvalidArgumentError);
  });
});

describe("red team r23: the typed arrays a RecentIds keeps stay within its budget", () => {
  // Windows under 4 MiB in all (WINDOW_BYTES) for up to 64 origins; the ring 16 bytes an id.
  for (const capacity of [1_000, 10_000, 100_000, 500_000]) {
    it(`capacity ${capacity}, 64 origins: windows under 4 MiB, the ring 16 bytes an id`, () => {
      const before = process.memoryUsage().arrayBuffers;
      const ids = new RecentIds(capacity);
      const ring = process.memoryUsage().arrayBuffers - before;
      for (let o = 0; o < 64; o++) ids.add(`bus-${o}/1000000000000AAAAAAAA`);
      const windows = process.memoryUsage().arrayBuffers - before - ring;
      assert.ok(ring <= 16 * capacity + 1_024, `the ring keeps ${ring} bytes`);
      assert.ok(windows <= 4 * 1024 * 1024, `64 origins' windows keep ${windows} bytes`);
      assert.equal(ids.size, 64);
    });
  }
});

describe("red team r23: windows go back to the origins that send now", () => {
  const suffix = (n: number): string => Array.from({ length: 8 }, (_, k) => BASE64URL[(n * 7 + k * 13) % 64]).join("");
  const add = (ids: RecentIds, origin: string, from: number, to: number): void => {
    for (let n = from; n < to; n++) assert.equal(ids.add(`${origin}/${1_000_000_000_000 + n}${suffix(n)}`), true);
  };

  it("after 8 buses came and went (a new id each restart), the 9th bus's ids are kept in a window, not as strings", () => {
    const before = heapUsed();
    const ids = new RecentIds(100_000); // 7 windows
    for (let bus = 0; bus < 8; bus++) add(ids, `bus-${bus}`, 0, 20_000);
    add(ids, "bus-8", 0, 100_000);
    // The ring's references are 0.8 MB; a3ce996 kept the 7 windows for buses long gone, and the 9th
    // bus's ids went to the Set as strings (8.8 MB in all).
    const kept = heapUsed() - before;
    assert.ok(kept < 2_000_000, `100,000 ids of the 9th bus keep ${kept} bytes of heap`);
    assert.equal(ids.has(`bus-8/${1_000_000_000_000 + 99_999}${suffix(99_999)}`), true);
    assert.equal(ids.has(`bus-7/${1_000_000_000_000 + 19_999}${suffix(19_999)}`), false);
  });

  it("one forged id far ahead of a bus's numbers does not send its ids to the Set for good", () => {
    const forged = "real/999999999999999AAAAAAAA";
    const before = heapUsed();
    const ids = new RecentIds(100_000);
    add(ids, "real", 0, 10);
    assert.equal(ids.add(forged), true); // the window, holding only 10 numbers, jumps there
    // The real ids, now below the window, go to the Set until the forged one is forgotten.
    add(ids, "real", 10, 101_000);
    assert.equal(ids.has(forged), false);
    add(ids, "real", 101_000, 201_000);
    // a3ce996: every later id of that bus went to the Set as a string (11.3 MB in all).
    const kept = heapUsed() - before;
    assert.ok(kept < 2_000_000, `the last 100,000 ids of that bus keep ${kept} bytes of heap`);
    assert.equal(ids.has(`real/${1_000_000_000_000 + 101_000}${suffix(101_000)}`), true);
    assert.equal(ids.has(`real/${1_000_000_000_000 + 100_999}${suffix(100_999)}`), false);
    assert.equal(ids.add(forged), true);
    assert.equal(ids.add(forged), false);
  });
});

describe("red team r23: one id forged far ahead of a bus's numbers does not move them all out at once", () => {
  it("after 100,000 ids of a bus, the forged id is kept in the Set and theirs stay in the window", () => {
    const suffix = (n: number): string => Array.from({ length: 8 }, (_, k) => BASE64URL[(n * 5 + k * 11) % 64]).join("");
    const ids = new RecentIds(100_000);
    for (let n = 0; n < 100_000; n++) ids.add(`real/${1_000_000_000_000 + n}${suffix(n)}`);
    const before = heapUsed();
    assert.equal(ids.add("real/999999999999999AAAAAAAA"), true);
    // a3ce996: the window jumped there and made the strings of the 100,000 ids it held (17 MB with the Set grown), in one add.
    const made = heapUsed() - before;
    assert.ok(made < 1_000_000, `one forged id made ${made} bytes of heap`);
    assert.equal(ids.has("real/999999999999999AAAAAAAA"), true);
    assert.equal(ids.add("real/999999999999999AAAAAAAA"), false);
    assert.equal(ids.has(`real/${1_000_000_000_000 + 1}${suffix(1)}`), true);
    assert.equal(ids.has(`real/${1_000_000_000_000}${suffix(0)}`), false);
    for (let n = 100_000; n < 100_100; n++) assert.equal(ids.add(`real/${1_000_000_000_000 + n}${suffix(n)}`), true);
    assert.equal(ids.has("real/999999999999999AAAAAAAA"), true);
  });
});
