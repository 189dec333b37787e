import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromCompactEnvelope, toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { fromEnvelope, toEnvelope } from "../../../bridges/envelope.js";
import { InvalidEnvelopeError } from "../../../bridges/errors.js";
import { createMessage, type Message, type MessageInit } from "../../../lib/message.js";

// What a receiving BrokerLink does with a line: parse, spread the compact form, validate.
function decode(line: string): Message {
  return fromEnvelope(fromCompactEnvelope(JSON.parse(line)));
}

function wire(message: Message): string {
  return JSON.stringify(toCompactEnvelope(toEnvelope(message)));
}

function fieldOf(line: string): string {
  try {
    decode(line);
  } catch (error) {
    assert.ok(error instanceof InvalidEnvelopeError, `an InvalidEnvelopeError, not ${String(error)}`);
    return error.field;
  }
  assert.fail(`accepted ${line}`);
}

const base: MessageInit = { identifier: "app:log", args: ["hi", { n: 1 }], kwargs: {}, messageId: "bus-1/42", timestamp: 1_733_443_200_000, hops: ["bus-1"] };

describe("compact envelope", () => {
  it("carries every field of a message exactly, writing only what differs from the defaults", () => {
    const cases: [MessageInit, string][] = [
      [base, '["app:log",["hi",{"n":1}],{},"bus-1/42",1733443200000]'],
      [{ ...base, kwargs: { level: 3 } }, '["app:log",["hi",{"n":1}],{"level":3},"bus-1/42",1733443200000]'],
      [{ ...base, hops: ["bus-1", "bus-2"] }, '["app:log",["hi",{"n":1}],{},"bus-1/42",1733443200000,["bus-1","bus-2"]]'],
      [{ ...base, messageId: "other/7" }, '["app:log",["hi",{"n":1}],{},"other/7",1733443200000,["bus-1"]]'],
      [{ ...base, messageId: "bus-1x/7" }, '["app:log",["hi",{"n":1}],{},"bus-1x/7",1733443200000,["bus-1"]]'],
      [{ ...base, messageId: "bus-1/a/7" }, '["app:log",["hi",{"n":1}],{},"bus-1/a/7",1733443200000,["bus-1"]]'],
      [{ ...base, replyTo: "app:answer" }, '["app:log",["hi",{"n":1}],{},"bus-1/42",1733443200000,0,"app:answer"]'],
      [{ ...base, to: "bus-9" }, '["app:log",["hi",{"n":1}],{},"bus-1/42",1733443200000,0,0,0,"bus-9"]'],
      [
        { ...base, hops: ["bus-1", "bus-3"], inReplyTo: "bus-3/1", to: "bus-3", replyTo: "app:more" },
        '["app:log",["hi",{"n":1}],{},"bus-1/42",1733443200000,["bus-1","bus-3"],"app:more","bus-3/1","bus-3"]',
      ],
    ];
    for (const [init, line] of cases) {
      const message = createMessage(init);
      assert.equal(wire(message), line);
      assert.deepEqual(decode(line).toJSON(), message.toJSON(), line);
    }
  });

  it("passes an envelope object (protocol 1, an older broker's persist file) to fromEnvelope as it is", () => {
    const message = createMessage({ ...base, hops: ["bus-1", "bus-2"] });
    const line = JSON.stringify(toEnvelope(message));
    assert.deepEqual(decode(line).toJSON(), message.toJSON());
  });

  it("refuses hostile lines with a typed error naming the field", () => {
    const deep = JSON.stringify(Array.from({ length: 70 }).reduce<unknown>((inner) => [inner], 1));
    const hostile: [string, string][] = [
      ['["app:log",["hi"],{}]', "envelope"],
      ['["app:log",["hi"],{},"b/1",1,0,0,0,0,0]', "envelope"],
      ["42", "envelope"],
      ["null", "envelope"],
      ['[1,["hi"],{},"b/1",1]', "id"],
      ['["",["hi"],{},"b/1",1]', "id"],
      [`[${JSON.stringify("a".repeat(1025))},[],{},"b/1",1]`, "id"],
      ['["app:log","hi",{},"b/1",1]', "args"],
      ['["app:log",["hi"],[],"b/1",1]', "kwargs"],
      ['["app:log",["hi"],null,"b/1",1]', "kwargs"],
      ['["app:log",["hi"],{},7,1]', "messageId"],
      [`["app:log",[],{},${JSON.stringify(`b/${"1".repeat(300)}`)},1]`, "messageId"],
      ['["app:log",["hi"],{},"b/1","1"]', "timestamp"],
      ['["app:log",["hi"],{},"b/1",null]', "timestamp"],
      ['["app:log",["hi"],{},"no-origin",1]', "hops"],
      ['["app:log",["hi"],{},"/1",1]', "hops"],
      ['["app:log",["hi"],{},"b/1",1,[7]]', "hops[]"],
      ['["app:log",["hi"],{},"b/1",1,"b"]', "hops"],
      ['["app:log",["hi"],{},"b/1",1,null]', "hops"],
      [`["app:log",["hi"],{},"b/1",1,${JSON.stringify(Array.from({ length: 65 }, (_, i) => `b${i}`))}]`, "hops"],
      ['["app:log",["hi"],{},"b/1",1,0,null]', "replyTo"],
      ['["app:log",["hi"],{},"b/1",1,0,5]', "replyTo"],
      ['["app:log",["hi"],{},"b/1",1,0,0,{}]', "inReplyTo"],
      ['["app:log",["hi"],{},"b/1",1,0,0,0,""]', "to"],
      ['["app:log",["hi"],{"__proto__":{"polluted":true}},"b/1",1]', "kwargs.__proto__"],
      ['["app:log",[{"__proto__":{"polluted":true}}],{},"b/1",1]', "args[0].__proto__"],
      ['["app:log",[{"constructor":{"prototype":{"polluted":true}}}],{},"b/1",1]', "args[0].constructor.prototype"],
      [`["app:log",[${deep}],{},"b/1",1]`, `args${"[0]".repeat(65)}`],
    ];
    for (const [line, field] of hostile) assert.equal(fieldOf(line), field, line);
    assert.throws(() => decode('["bad id",[],{},"b/1",1]'), { name: "InvalidIdentifierError" });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
