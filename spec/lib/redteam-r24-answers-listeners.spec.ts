// Red team r24: a `message` listener throwing on an answer. The bus replayed every listener after a throw,
// so the listeners registered before the thrower got that answer twice (a link before it sent it twice).
// Each listener now gets each answer once, the others still get it, and every throw is reported.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, FollowerError, type Message, within } from "../../lib/index.js";

describe("red team r24: message listeners on answers", () => {
  it("a throwing listener between two others: each of them sees each answer once, the throw is reported", async () => {
    const bus = new Bus({ id: "r24-listeners" });
    const reported: unknown[] = [];
    bus.on("error", (error) => void reported.push(error));
    const before: string[] = [];
    const after: string[] = [];
    bus.on("message", (m: Message) => {
      if (m.inReplyTo !== undefined) before.push(m.messageId);
    });
    bus.on("message", (m: Message) => {
      if (m.inReplyTo !== undefined) throw new Error("audit listener failed");
    });
    bus.on("message", (m: Message) => {
      if (m.inReplyTo !== undefined) after.push(m.messageId);
    });
    bus.follow("svc:x", () => 42);
    bus.follow("svc:x", () => 43);
    const answers = await bus.request("svc:x", within({ count: 2, timeout: 2_000 }));
    assert.deepEqual(answers.map((a) => (a.ok ? a.value : a.error)).sort(), [42, 43]);
    const ids = answers.map((a) => a.messageId).sort();
    assert.deepEqual([...before].sort(), ids, "the listener before the thrower saw each answer once");
    assert.deepEqual([...after].sort(), ids, "the listener after the thrower saw each answer once");
    assert.equal(reported.length, 2);
    assert.ok(reported.every((error) => error instanceof FollowerError));
    bus.close();
  });

  it("two throwing listeners are both reported; a once-listener gets one answer and is gone", async () => {
    const bus = new Bus({ id: "r24-listeners-once" });
    const reported: unknown[] = [];
    bus.on("error", (error) => void reported.push(error));
    const once: string[] = [];
    const every: string[] = [];
    const onAnswer = (text: string) => (m: Message) => {
      if (m.inReplyTo !== undefined) throw new Error(text);
    };
    bus.on("message", onAnswer("first"));
    bus.on("message", onAnswer("second"));
    bus.on("message", (m: Message) => void every.push(m.messageId));
    bus.follow("svc:y", () => "y");
    const asked = bus.request("svc:y", within({ timeout: 2_000 }));
    // Registered once the request went out (its answer is sent in a later microtask): the answer is its one call.
    bus.once("message", (m: Message) => void once.push(m.messageId));
    const first = await asked;
    const second = await bus.request("svc:y", within({ timeout: 2_000 }));
    assert.deepEqual(once, [first[0]?.messageId]);
    const answersSeen = every.filter((id) => id === first[0]?.messageId || id === second[0]?.messageId);
    assert.deepEqual(answersSeen, [first[0]?.messageId, second[0]?.messageId]);
    const fromAnswers = reported.filter((e) => e instanceof FollowerError && e.message.includes("(an answer)"));
    assert.equal(fromAnswers.length, 4, "each throw on each answer is reported");
    bus.close();
  });
});
