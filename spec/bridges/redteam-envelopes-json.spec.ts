// Red team (r18): envelopesJson must write exactly JSON.stringify's text for every batch a bus can build.
// fast-check is not a dependency of this repo: a seeded generator stands in for it (deterministic, so a
// failure names the seed and round that reproduce it).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Envelope, envelopesJson, fromEnvelope, toEnvelope } from "../../bridges/envelope.js";
import { createMessage, kw, type Message } from "../../lib/index.js";
import { random } from "../helpers/seeded-random.js";

// Characters JSON.stringify escapes or that are easy to get wrong: lone surrogates, U+2028/9, controls.
const ODD = [
  "\u0000",
  "\u001f",
  "\u007f",
  "\u2028",
  "\u2029",
  "\ud800",
  "\udfff",
  "\ud83d\ude00",
  '"',
  "\\",
  "\n",
  "é",
  "/",
  "<",
  "\ufeff",
];

function oddString(rand: () => number, most = 12): string {
  let text = "";
  const length = Math.floor(rand() * most);
  for (let i = 0; i < length; i++)
    text += rand() < 0.4 ? (ODD[Math.floor(rand() * ODD.length)] as string) : String.fromCharCode(97 + Math.floor(rand() * 26));
  return text;
}

// Identifiers a bus takes (the escapes of the envelope spec's own odd identifier included).
const IDS = ['q"uote\\:ünï', "a:b", "berrymq-reply:x", "app:log", "é:\u00e8"];

function oddNumber(rand: () => number): number {
  const numbers = [0, -0, 1e21, -1e-7, 5e-324, Number.MAX_SAFE_INTEGER, Number.NaN, Number.POSITIVE_INFINITY, 1.5, -42];
  return numbers[Math.floor(rand() * numbers.length)] as number;
}

function value(rand: () => number, depth: number): unknown {
  const pick = rand();
  if (depth > 3 || pick < 0.3) return rand() < 0.5 ? oddString(rand) : oddNumber(rand);
  if (pick < 0.45) return [null, true, false, undefined][Math.floor(rand() * 4)];
  if (pick < 0.65) return Array.from({ length: Math.floor(rand() * 4) }, () => value(rand, depth + 1));
  if (pick < 0.72) {
    const text = oddString(rand);
    return { toJSON: () => text };
  }
  if (pick < 0.76) return new Date(1_700_000_000_000);
  const object: Record<string, unknown> = {};
  for (let i = Math.floor(rand() * 4); i > 0; i--) object[oddString(rand, 5)] = value(rand, depth + 1);
  return object;
}

function message(rand: () => number, shared: { hops: readonly string[]; ids: string[] }): Message {
  const identifier =
    rand() < 0.6
      ? (shared.ids[Math.floor(rand() * shared.ids.length)] as string)
      : (IDS[Math.floor(rand() * IDS.length)] as string);
  const kwargs: Record<string, unknown> = {};
  if (rand() < 0.5) for (let i = Math.floor(rand() * 3); i > 0; i--) kwargs[oddString(rand, 5)] = value(rand, 1);
  const hops =
    rand() < 0.5
      ? (shared.hops as string[])
      : Array.from({ length: 1 + Math.floor(rand() * 3) }, () => oddString(rand, 4) || "b");
  const hasReply = rand() < 0.3;
  return createMessage({
    identifier,
    args: Array.from({ length: Math.floor(rand() * 4) }, () => value(rand, 1)),
    kwargs,
    messageId: `${oddString(rand, 5)}/${Math.floor(rand() * 100)}`,
    timestamp: rand() < 0.8 ? 1_700_000_000_000 + Math.floor(rand() * 1000) : oddNumber(rand),
    hops,
    replyTo: hasReply ? (shared.ids[Math.floor(rand() * shared.ids.length)] as string) : undefined,
    inReplyTo: rand() < 0.3 ? `${oddString(rand, 5)}/1` : undefined,
    to: rand() < 0.3 ? oddString(rand, 5) || "t" : undefined,
  });
}

describe("red team: envelopesJson against JSON.stringify", () => {
  it("3,000 seeded batches of odd messages (lone surrogates, U+2028, controls, toJSON, Date, -0, NaN, nested arrays, repeated and changed ids/hops) come out as JSON.stringify writes them", () => {
    const seed = 0x5eed18;
    const rand = random(seed);
    const shared = { hops: Object.freeze(["b\u2028us", "\ud800"]), ids: ['q"uote\\:ünï', "x:y", "p:q"] };
    for (let round = 0; round < 3_000; round++) {
      // Now and then the repeated fields change: a new frozen hops array, a new identifier.
      if (round % 97 === 0) shared.hops = Object.freeze([oddString(rand, 4) || "h"]);
      if (round % 53 === 0) shared.ids[0] = IDS[Math.floor(rand() * IDS.length)] as string;
      const batch = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => toEnvelope(message(rand, shared)));
      assert.equal(envelopesJson(batch), JSON.stringify(batch), `seed ${seed}, round ${round}`);
    }
  });

  it("envelopes of two or three buses in turn (asker, answerer, relay: identifiers and hops arrays alternating, one timestamp), and an unfrozen hops array changed between batches, come out as JSON.stringify writes them", () => {
    const hopsOf = [Object.freeze(["asker"]), Object.freeze(["answerer"]), Object.freeze(["asker", "relay"])];
    const idsOf = ["calc:add", "berrymq-reply:asker", "calc:add"];
    const loose = ["x"];
    for (let round = 0; round < 60; round++) {
      const batch: Envelope[] = [];
      for (let k = 0; k < 1 + (round % 4); k++) {
        const which = (round + k) % 3;
        batch.push({
          v: 1,
          id: idsOf[which] as string,
          args: [round, k],
          kwargs: {},
          messageId: `${round}/${k}`,
          timestamp: 1_733_443_200_000 + (round >> 3),
          hops: (round % 5 === 0 ? loose : hopsOf[which]) as string[],
          ...(which === 1 ? { inReplyTo: `r/${round}`, to: "asker" } : {}),
        });
      }
      assert.equal(envelopesJson(batch), JSON.stringify(batch), `round ${round}`);
      loose.push(`h${round}`);
    }
    // The same unfrozen array, changed between two batches of the same millisecond.
    const again: Envelope = { v: 1, id: "a:b", args: [], kwargs: {}, messageId: "b/1", timestamp: 1, hops: ["b"] };
    assert.equal(envelopesJson([again]), JSON.stringify([again]));
    again.hops.push("c");
    assert.equal(envelopesJson([again]), JSON.stringify([again]));
  });

  it("a value reached by a frozen message but not frozen itself (a nested object) changed between two batches is written as it is now", () => {
    const inner = { n: 1, list: [1] };
    const sent = toEnvelope(
      createMessage({ identifier: "a:b", args: [inner], kwargs: { inner }, messageId: "b/1", hops: ["b"] }),
    );
    assert.equal(envelopesJson([sent]), JSON.stringify([sent]));
    inner.n = 2;
    inner.list.push(2);
    assert.equal(envelopesJson([sent]), JSON.stringify([sent]));
  });

  it('red team: kwargs with a toJSON that reads its key (JSON.stringify passes it "kwargs") is written as JSON.stringify writes it', () => {
    // kw() copies own properties, toJSON included: a bus builds this message. JSON.stringify(envelope)
    // calls kwargs.toJSON("kwargs"); envelopesJson calls JSON.stringify(kwargs), i.e. toJSON("").
    const m = createMessage({
      identifier: "a:b",
      kwargs: kw({ toJSON: (key: string) => ({ key }) }).values,
      messageId: "b/1",
      hops: ["b"],
    });
    const batch = [toEnvelope(m)];
    assert.equal(envelopesJson(batch), JSON.stringify(batch));
  });

  it("red team: kwargs whose toJSON gives undefined does not make the batch text invalid JSON (JSON.stringify leaves the field out: one envelope refused, the others of its batch delivered)", () => {
    const good = toEnvelope(createMessage({ identifier: "a:b", args: ["kept"], messageId: "b/1", hops: ["b"] }));
    const odd = toEnvelope(
      createMessage({ identifier: "a:b", kwargs: { toJSON: () => undefined }, messageId: "b/2", hops: ["b"] }),
    );
    const batch = [good, odd];
    const expected = JSON.stringify(batch);
    const written = envelopesJson(batch);
    // JSON.stringify's text parses, and its first envelope is valid (the receiver keeps it).
    assert.equal(fromEnvelope((JSON.parse(expected) as unknown[])[0]).args[0], "kept");
    // envelopesJson used to write `"kwargs":undefined`: the whole frame was not JSON, the good envelope lost with it.
    assert.doesNotThrow(() => JSON.parse(written), `envelopesJson wrote text that is not JSON: ${written}`);
    assert.equal(written, expected);
  });
});
