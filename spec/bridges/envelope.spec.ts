import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ENVELOPE_LIMITS, envelopesJson, fromEnvelope, toEnvelope } from "../../bridges/envelope.js";
import { InvalidEnvelopeError } from "../../bridges/errors.js";
import { createMessage, InvalidIdentifierError } from "../../lib/index.js";

const valid = (): Record<string, unknown> => ({
  v: 1,
  id: "app:log",
  args: ["hi", { n: 1 }],
  kwargs: { level: 3 },
  messageId: "bus-1/1",
  timestamp: 1_700_000_000_000,
  hops: ["bus-1"],
});

describe("envelope", () => {
  it("round-trips a message through JSON", () => {
    const message = createMessage({
      identifier: "a:b",
      args: [1, [2]],
      kwargs: { k: "v" },
      messageId: "m1",
      hops: ["x"],
      replyTo: "r:s",
    });
    const back = fromEnvelope(JSON.parse(JSON.stringify(toEnvelope(message))));
    assert.deepEqual(back.toJSON(), message.toJSON());
  });

  it("writes a batch of envelopes as JSON.stringify does, escapes, optional fields and odd numbers included", () => {
    const messages = [
      createMessage({
        identifier: "a:b",
        args: [1, [2], null, "x"],
        kwargs: { k: "v" },
        messageId: "m1",
        hops: ["x"],
        replyTo: "r:s",
      }),
      createMessage({
        identifier: 'q"uote\\:ünï',
        args: ['"\\\n\u0000\u2028\ud800 é 😀', { toJSON: () => "custom" }, undefined, -0, 1e21, 5e-324],
        kwargs: { 'ke"y': [{ deep: ["\t"] }], gone: undefined },
        messageId: 'b"us/1',
        timestamp: 1_700_000_000_123,
        hops: ['b"us', "é"],
        inReplyTo: "r/1",
        to: "asker\n",
      }),
      createMessage({ identifier: "c:d", messageId: "m3", timestamp: Number.NaN, hops: [] }),
      createMessage({
        identifier: "berrymq-reply:x",
        args: [1.5],
        messageId: "m4",
        timestamp: -0,
        hops: ["y"],
        inReplyTo: "x/9",
        to: "x",
      }),
    ];
    const envelopes = messages.map(toEnvelope);
    assert.equal(envelopesJson(envelopes), JSON.stringify(envelopes));
    assert.equal(envelopesJson([]), "[]");
    for (const envelope of envelopes) assert.equal(envelopesJson([envelope]), JSON.stringify([envelope]));
  });

  it("writes each batch afresh: fields repeated from the last batch, or changed since, come out as they are now", () => {
    const make = (id: string, hops: string[], replyTo?: string, to?: string) =>
      toEnvelope(createMessage({ identifier: id, args: [1], messageId: `${id}/1`, hops, replyTo, inReplyTo: to && "x/1", to }));
    const first = make("a:b", ["b1"], "r:s", "b9");
    const second = make("c:d", ["b2", "b3"], "t:u", "b8");
    for (const batch of [[first], [second], [first, second, first], [second]])
      assert.equal(envelopesJson(batch), JSON.stringify(batch));
    // A hops array that is not frozen may change between two batches.
    const hops = ["h1"];
    const open = { ...first, hops };
    assert.equal(envelopesJson([open]), JSON.stringify([open]));
    hops.push("h2");
    assert.equal(envelopesJson([open]), JSON.stringify([open]));
  });

  const bad: [string, (e: Record<string, unknown>) => unknown, string][] = [
    ["not an object", () => [1], "envelope"],
    ["wrong version", (e) => ({ ...e, v: 2 }), "v"],
    ["missing id", (e) => ({ ...e, id: undefined }), "id"],
    ["id too long", (e) => ({ ...e, id: "x".repeat(ENVELOPE_LIMITS.identifierLength + 1) }), "id"],
    ["args not an array", (e) => ({ ...e, args: {} }), "args"],
    ["kwargs an array", (e) => ({ ...e, kwargs: [] }), "kwargs"],
    ["timestamp a string", (e) => ({ ...e, timestamp: "now" }), "timestamp"],
    ["hops not strings", (e) => ({ ...e, hops: [1] }), "hops[]"],
    ["too many hops", (e) => ({ ...e, hops: Array.from({ length: ENVELOPE_LIMITS.hops + 1 }, (_, i) => `b${i}`) }), "hops"],
    ["__proto__ in kwargs", (e) => ({ ...e, kwargs: JSON.parse('{"__proto__": {"polluted": true}}') }), "kwargs.__proto__"],
    [
      "constructor holding prototype deep in args",
      (e) => ({ ...e, args: JSON.parse('[{"a": [{"constructor": {"prototype": {"polluted": true}}}]}]') }),
      "args[0].a[0].constructor.prototype",
    ],
    ["NaN in args", (e) => ({ ...e, args: [1, Number.NaN] }), "args[1]"],
    ["Infinity in kwargs", (e) => ({ ...e, kwargs: { x: Number.POSITIVE_INFINITY } }), "kwargs.x"],
    ["nesting too deep", (e) => ({ ...e, args: [JSON.parse(`${"[".repeat(100)}${"]".repeat(100)}`)] }), "args[0]"],
    ["replyTo not a string", (e) => ({ ...e, replyTo: 5 }), "replyTo"],
  ];
  for (const [what, mutate, field] of bad) {
    it(`refuses ${what}, naming ${field}`, () => {
      assert.throws(
        () => fromEnvelope(mutate(valid())),
        (error: unknown) =>
          error instanceof InvalidEnvelopeError && error.field.startsWith(field) && error.code === "INVALID_ENVELOPE",
      );
    });
  }

  it("takes a string or number nested exactly to the depth limit, and refuses one a level deeper (arrays and objects)", () => {
    const nest = (leaf: unknown, levels: number, kind: "array" | "object"): unknown => {
      let value = leaf;
      for (let i = 0; i < levels; i++) value = kind === "array" ? [value] : { k: value };
      return value;
    };
    // args is level 0: `levels` containers inside it put the leaf at depth levels + 1.
    for (const kind of ["array", "object"] as const) {
      for (const leaf of ["x", 1]) {
        const within = ENVELOPE_LIMITS.depth - 1;
        assert.doesNotThrow(() => fromEnvelope({ ...valid(), args: [nest(leaf, within, kind)] }), `${kind} ${leaf}`);
        assert.throws(
          () => fromEnvelope({ ...valid(), args: [nest(leaf, within + 1, kind)] }),
          InvalidEnvelopeError,
          `${kind} ${leaf}`,
        );
      }
    }
  });

  it("refuses an invalid identifier with InvalidIdentifierError", () => {
    assert.throws(() => fromEnvelope({ ...valid(), id: "a b" }), InvalidIdentifierError);
  });

  it("carries constructor and prototype keys as ordinary data", () => {
    const kwargs = JSON.parse('{"constructor": "Foo", "prototype": {"x": 1}, "nested": {"constructor": {"name": "Bar"}}}');
    const message = fromEnvelope({ ...valid(), kwargs, args: [{ prototype: [1] }] });
    assert.deepEqual(message.kwargs, kwargs);
    assert.deepEqual(message.args, [{ prototype: [1] }]);
  });

  it("never lets a payload reach Object.prototype", () => {
    assert.throws(() => fromEnvelope({ ...valid(), kwargs: JSON.parse('{"__proto__": {"polluted": true}}') }));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
