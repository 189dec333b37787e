// Red team (r18): the compact envelope form round-trips every message a bus can build, whatever its
// hops and messageId look like (origins holding "/", hops that only look like the origin, empty hops),
// and a receiver takes old (object) and new (array) lines alike. Seeded (fast-check is no dependency here).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromCompactEnvelope, toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { fromEnvelope, toEnvelope } from "../../../bridges/envelope.js";
import { createMessage, type Message } from "../../../lib/message.js";
import { random } from "../../helpers/seeded-random.js";

const pick = <T>(rand: () => number, list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
const BUSES = ["b", "a/b", "a/", "/a", "//", "x/1", "b\u2028", "\ud800", "0", "b b"];

function message(rand: () => number): Message {
  const origin = pick(rand, BUSES);
  const hops = pick(rand, [[origin], [origin], [origin, pick(rand, BUSES)], [], [pick(rand, BUSES)], [origin, origin]]);
  const messageId = pick(rand, [
    `${origin}/${Math.floor(rand() * 1e6)}`,
    `${origin}/`,
    `${origin}`,
    `${origin}/1/2`,
    `x${origin}/3`,
    "/",
    "//1",
    `${origin}//4`,
  ]);
  return createMessage({
    identifier: pick(rand, ["a:b", "app:log", "berrymq-reply:x"]),
    args: pick(rand, [[], [0], [-0], ["\u2028"], [[[]]], [{}]]),
    kwargs: pick(rand, [{}, { k: 1 }]),
    messageId,
    timestamp: pick(rand, [0, -0, 1_733_443_200_000, 1.5, -1]),
    hops,
    replyTo: rand() < 0.3 ? "r:s" : undefined,
    inReplyTo: rand() < 0.3 ? pick(rand, ["x/1", "0", ""]) || "y/2" : undefined,
    to: rand() < 0.3 ? pick(rand, BUSES) : undefined,
  });
}

describe("red team: compact envelope round trip", () => {
  it("20,000 seeded messages with odd hops and messageIds come back field for field, and as objects too", () => {
    const seed = 0xc0ac7;
    const rand = random(seed);
    for (let round = 0; round < 20_000; round++) {
      const original = message(rand);
      const expected = JSON.stringify(original.toJSON());
      const compactLine = JSON.stringify(toCompactEnvelope(toEnvelope(original)));
      const back = fromEnvelope(fromCompactEnvelope(JSON.parse(compactLine)));
      assert.equal(JSON.stringify(back.toJSON()), expected, `seed ${seed} round ${round}: ${compactLine}`);
      const objectLine = JSON.stringify(toEnvelope(original));
      assert.equal(
        JSON.stringify(fromEnvelope(fromCompactEnvelope(JSON.parse(objectLine))).toJSON()),
        expected,
        `object form, round ${round}`,
      );
    }
  });
});
