// Red team r30: a bus's `message` listener that throws on a plain message (an audit hook that breaks on
// one payload). The event was emitted in one go: the throw went to whoever sent or injected the message
// (twitter() threw after every follower had run; a link's receive path took it for a failed transfer),
// and the listeners after it never saw the message. On a bus relaying between links, the links started
// after that listener never forwarded it: the buses beyond lost it without a word. Now each listener
// hears each message, and a throw is reported on `error` as a FollowerError naming the listener.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BerryError, Bus, FollowerError, type Message } from "../../lib/index.js";
import { createMessage } from "../../lib/message.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

describe("red team r30: a `message` listener that throws on a plain message", () => {
  it("twitter() does not throw; the listeners after it hear the message; the throw is reported", () => {
    const bus = new Bus();
    const reported: BerryError[] = [];
    bus.on("error", (error) => void reported.push(error));
    const before: unknown[] = [];
    const after: unknown[] = [];
    bus.on("message", (m: Message) => void before.push(m.args[0]));
    bus.on("message", (m: Message) => {
      if (m.args[0] === "bad") throw new Error("audit hook broke");
    });
    bus.on("message", (m: Message) => void after.push(m.args[0]));
    const followed: unknown[] = [];
    bus.follow("x:*", (m) => void followed.push(m.args[0]));
    for (const payload of ["ok1", "bad", "ok2"]) assert.equal(bus.twitter("x:y", payload), 1);
    assert.deepEqual(followed, ["ok1", "bad", "ok2"]);
    assert.deepEqual(before, ["ok1", "bad", "ok2"], "each once");
    assert.deepEqual(after, ["ok1", "bad", "ok2"]);
    assert.equal(reported.length, 1);
    assert.ok(
      reported[0] instanceof FollowerError &&
        /'message' listener/.test(reported[0].message) &&
        /audit hook broke/.test(reported[0].message),
    );
    bus.close();
  });

  it("a bus relaying A → B → C forwards a message its throwing listener broke on; C loses nothing", async () => {
    const a = new Bus({ id: "r30-A" });
    const b = new Bus({ id: "r30-B" });
    const c = new Bus({ id: "r30-C" });
    const reported: BerryError[] = [];
    b.on("error", (error) => void reported.push(error));
    // Registered before B's links start, as an application's hook usually is.
    b.on("message", (m: Message) => {
      if (m.args[0] === "bad") throw new Error("audit hook broke");
    });
    const links = [...MemoryLink.pair({ bus: a }, { bus: b }), ...MemoryLink.pair({ bus: b }, { bus: c })];
    const linkErrors: unknown[] = [];
    for (const link of links) link.on("error", (error) => void linkErrors.push(error));
    const atC: unknown[] = [];
    c.follow("x:*", (m) => void atC.push(m.args[0]));
    await sleep(20);
    for (const payload of ["ok1", "bad", "ok2"]) a.twitter("x:y", payload);
    await waitFor(() => atC.length >= 3, "C gets all three");
    assert.deepEqual(atC, ["ok1", "bad", "ok2"]);
    assert.equal(reported.length, 1, "the throw is B's to report");
    assert.deepEqual(linkErrors, [], "no link took it for a failed transfer");
    for (const link of links) await link.close();
    for (const bus of [a, b, c]) bus.close();
  });
});

describe("red team r30: a throwing `message` listener on what a bus injects or only passes on", () => {
  const throwing = (bus: Bus): BerryError[] => {
    const reported: BerryError[] = [];
    bus.on("error", (error) => void reported.push(error));
    bus.on("message", () => {
      throw new Error("audit hook broke");
    });
    return reported;
  };

  it("injectSettled resolves with what it reached, and the listeners after it hear the message", async () => {
    const bus = new Bus({ id: "r30-settled" });
    const reported = throwing(bus);
    const after: string[] = [];
    bus.on("message", (m: Message) => void after.push(m.id));
    let ran = 0;
    bus.follow("x:*", async () => void ran++);
    const message = createMessage({ identifier: "x:y", args: [1], messageId: "far/1", hops: ["far"] });
    assert.equal(await bus.injectSettled(message), 1);
    assert.equal(ran, 1);
    assert.deepEqual(after, ["x:y"]);
    assert.equal(reported.length, 1);
    bus.close();
  });

  it("a message addressed to another bus passes on to the listeners after it (a relay's links): dispatch does not throw", () => {
    const bus = new Bus({ id: "r30-relay" });
    const reported = throwing(bus);
    const passed: (string | undefined)[] = [];
    bus.on("message", (m: Message) => void passed.push(m.to));
    const answer = createMessage({
      identifier: "x:y",
      args: [42],
      messageId: "far/2",
      hops: ["far"],
      inReplyTo: "asker/1",
      to: "asker",
    });
    assert.equal(bus.dispatch(answer), 0);
    assert.deepEqual(passed, ["asker"]);
    assert.equal(reported.length, 1);
    bus.close();
  });
});
