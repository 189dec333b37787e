// Red team (r19): the sendable check against what JSON.stringify really does with toJSON, boxed primitives
// and functions, and envelopesJson's head/tail caches against JSON.stringify byte for byte.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkJsonValue, envelopesJson, toEnvelope } from "../../bridges/envelope.js";
import { UnsendableMessageError } from "../../bridges/errors.js";
import { unsendable } from "../../bridges/sendable.js";
import { createMessage } from "../../lib/message.js";
import { random } from "../helpers/seeded-random.js";
import { sleep, waitFor } from "../helpers/wait-for.js";
import { streamingPair } from "../helpers/streaming-pair.js";

// What JSON.stringify does with the value: the text, or its throw.
function written(value: unknown): { text: string } | { threw: string } {
  try {
    return { text: JSON.stringify(value) };
  } catch (error) {
    return { threw: (error as Error).message };
  }
}

// The check must refuse what JSON.stringify throws on (a throw inside transmit retries the batch for
// ever), and what it accepts the far side must accept once written.
function assertAgrees(label: string, args: unknown[]): void {
  const refused = unsendable({ args, kwargs: {} });
  const out = written(args);
  if ("threw" in out) assert.notEqual(refused, undefined, `${label}: accepted, but JSON.stringify throws (${out.threw})`);
  if (refused === undefined && "text" in out) assert.doesNotThrow(() => checkJsonValue(JSON.parse(out.text), "args", 0), label);
}

const big = 10n;
// Values JSON.stringify writes in its own way. Each a function: toJSONs may count their calls.
const tricky: Record<string, () => unknown> = {
  "toJSON giving an object whose own toJSON is not called, holding a BigInt": () => ({
    toJSON: () => ({ toJSON: () => 1, big }),
  }),
  "toJSON of an array element keyed by its index": () => [{ toJSON: (key: string) => (key === "0" ? big : 1) }],
  "toJSON of a property keyed by its name": () => ({ x: { toJSON: (key: string) => (key === "x" ? big : 1) } }),
  "a boxed BigInt": () => Object(big),
  "a boxed NaN": () => [Object(Number.NaN)],
  "a function with a toJSON giving a BigInt": () => ({ f: Object.assign(() => 0, { toJSON: () => big }) }),
  "toJSON giving itself": () => {
    const self: Record<string, unknown> = { a: 1 };
    self.toJSON = () => self;
    return self;
  },
  "toJSON giving an object whose toJSON would throw": () => ({
    toJSON: () => ({
      toJSON: () => {
        throw new Error("never called by JSON.stringify");
      },
      a: 1,
    }),
  }),
  "a boxed string, boolean and finite number": () => [Object("s"), Object(true), Object(2)],
  "a Date": () => new Date(0),
  "an invalid Date": () => new Date(Number.NaN),
};

test("red team: the sendable check refuses exactly what JSON.stringify throws on, through toJSON results, keys and boxed primitives", () => {
  for (const [label, make] of Object.entries(tricky)) assertAgrees(label, [make()]);
});

test("red team: a toJSON result is written without its own toJSON: a value JSON.stringify writes is not refused", () => {
  assert.equal(unsendable({ args: [tricky["toJSON giving itself"]?.()], kwargs: {} }), undefined);
  assert.equal(unsendable({ args: [tricky["toJSON giving an object whose toJSON would throw"]?.()], kwargs: {} }), undefined);
  assert.equal(unsendable({ args: tricky["a boxed string, boolean and finite number"]?.() as unknown[], kwargs: {} }), undefined);
});

test("red team: seeded random values with toJSONs, boxes, sparse arrays, symbols and functions: the check agrees with JSON.stringify", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const next = random(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const leaf = (): unknown =>
      pick<() => unknown>([
        () => 's\u2028"\\',
        () => 1.5,
        () => -0,
        () => Number.NaN,
        () => undefined,
        () => Symbol("x"),
        () => () => 1,
        () => big,
        () => Object(big),
        () => Object(3),
        () => null,
        () => new Date(1),
      ])();
    const value = (depth: number): unknown => {
      const kind = depth > 4 ? 0 : Math.floor(next() * 5);
      if (kind === 0) return leaf();
      if (kind === 1) {
        const array: unknown[] = [];
        const n = Math.floor(next() * 4);
        for (let i = 0; i < n; i++) if (next() < 0.8) array[i] = value(depth + 1);
        array.length = n + (next() < 0.2 ? 2 : 0); // sparse tail
        return array;
      }
      if (kind === 2) {
        const object: Record<string, unknown> = {};
        for (let i = Math.floor(next() * 4); i > 0; i--) object[pick(["a", "b", "c", "0"])] = value(depth + 1);
        return object;
      }
      const inner = value(depth + 1);
      const byKey = next() < 0.5;
      if (kind === 3) return { toJSON: (key: string) => (byKey && key === "0" ? big : inner) };
      return { toJSON: () => ({ toJSON: () => "never", inner }) };
    };
    assertAgrees(`seed ${seed}`, [value(0)]);
  }
});

test("red team: a message whose toJSON gives an object holding a BigInt (behind a toJSON JSON.stringify does not call) is refused alone; the messages after it arrive", {
  timeout: 20_000,
}, async (t) => {
  const { a, errors, atB } = await streamingPair(t, "rt19-tojson");
  a.twitter("seq:ab", 1);
  a.twitter("seq:ab", { toJSON: () => ({ toJSON: () => "fine", big }) });
  a.twitter("seq:ab", [Object(big)]);
  a.twitter("seq:ab", 4);
  await sleep(1_000);
  a.twitter("seq:ab", 5);
  await waitFor(() => atB.length >= 4, "1, 4 and 5", 5_000).catch(() => {});
  // Before: the check accepted both, JSON.stringify threw inside transmit and the Link retried the batch
  // for ever: nothing after 0 arrived.
  assert.deepEqual(atB, [0, 1, 4, 5], `delivered ${JSON.stringify(atB)}; errors: ${errors.map((e) => e.message).join(" | ")}`);
  assert.equal(
    errors.filter((error) => error instanceof UnsendableMessageError).length,
    2,
    errors.map((e) => e.message).join(" | "),
  );
});

test("envelopesJson equals JSON.stringify byte for byte across alternating buses, shared and mutated hops, odd timestamps and ids", () => {
  const ids = ["a:b", "é:ü", 'q:"\\', "x:\ud83d\ude00", "a:b"];
  const frozen = Object.freeze(["bus-1"]);
  const frozenCopy = Object.freeze(["bus-1"]);
  const open = ["bus-2"];
  const stamps = [0, -0, 1e21, 2 ** 53 + 2, 1.5, 1733480000000, -1];
  for (let seed = 1; seed <= 200; seed++) {
    const next = random(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const batch = [];
    for (let i = 0, n = 1 + Math.floor(next() * 5); i < n; i++) {
      if (next() < 0.3) open[0] = pick(["bus-2", "bus-3", "b\u00e9s"]);
      const hops = pick<readonly string[]>([frozen, frozenCopy, open, Object.freeze(["bus-1", "ü"])]);
      const message = createMessage({
        identifier: pick(ids),
        args: [i, pick(["s", 1, null])],
        kwargs: next() < 0.5 ? {} : { k: 1 },
        messageId: `${hops[0]}/${seed}/${i}`,
        timestamp: pick(stamps),
        hops: hops as string[],
        ...(next() < 0.3 ? { replyTo: pick(ids), inReplyTo: "m/1", to: pick(["bus-1", "bus-2"]) } : {}),
      });
      batch.push(toEnvelope(message));
    }
    assert.equal(envelopesJson(batch), JSON.stringify(batch), `seed ${seed}`);
  }
});

test("red team: a message whose getter passes the check at enqueue and gives a BigInt when the batch is written is dropped alone as unsendable; the messages after it arrive", {
  timeout: 20_000,
}, async (t) => {
  const { a, errors, atB } = await streamingPair(t, "rt19-getter");
  let reads = 0;
  const shifty = {
    get v(): unknown {
      reads++;
      return reads === 1 ? 1 : big;
    },
  };
  a.twitter("seq:ab", 1);
  a.twitter("seq:ab", shifty);
  a.twitter("seq:ab", 3);
  await sleep(1_000);
  a.twitter("seq:ab", 4);
  await waitFor(() => atB.length >= 4, "1, 3 and 4", 5_000).catch(() => {});
  // Before: JSON.stringify threw inside transmit on every retry of the batch: nothing after 0 arrived.
  assert.deepEqual(atB, [0, 1, 3, 4], `delivered ${JSON.stringify(atB)}; errors: ${errors.map((e) => e.message).join(" | ")}`);
  assert.equal(
    errors.filter((error) => error instanceof UnsendableMessageError).length,
    1,
    errors.map((e) => e.message).join(" | "),
  );
});
