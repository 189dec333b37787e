import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { parseIdentifier } from "../../lib/identifier.js";
import { Bus, createMessage, InvalidArgumentError, InvalidIdentifierError, type Message, withHop } from "../../lib/index.js";
import { NO_KWARGS } from "../../lib/kwargs.js";
import { newMessage } from "../../lib/message.js";

describe("messages", () => {
  it("are frozen, args included, and cannot be changed by a follower", () => {
    const bus = new Bus();
    let seen: Message | undefined;
    bus.follow("m:x", (m) => {
      seen = m;
      assert.throws(() => {
        (m.args as unknown[]).push(1);
      }, TypeError);
      assert.throws(() => {
        (m as { id: string }).id = "other";
      }, TypeError);
    });
    bus.twitter("m:x", "a");
    assert.ok(seen && Object.isFrozen(seen) && Object.isFrozen(seen.args) && Object.isFrozen(seen.kwargs));
  });

  it("toJSON() gives every field as plain data, messageId included", () => {
    const bus = new Bus({ id: "bus-1" });
    let json: Record<string, unknown> = {};
    bus.follow("m:x", (m) => {
      json = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
    });
    bus.twitter("m:x", 1);
    assert.deepEqual(Object.keys(json).sort(), ["action", "args", "hops", "id", "kwargs", "messageId", "name", "timestamp"]);
    // The sequence number, then eight random base64url characters (never "/": compact envelopes split there).
    assert.match(String(json.messageId), /^bus-1\/\d+[\w-]{8}$/);
    assert.deepEqual(json.hops, ["bus-1"]);
    assert.ok(Math.abs((json.timestamp as number) - Date.now()) < 1000);
  });

  it("shows every field when logged (util.inspect), the args and messageId getters included", () => {
    const message = createMessage({ identifier: "a:b", args: [1, "x"], messageId: "id-7", hops: ["h"] });
    const shown = inspect(message);
    assert.match(shown, /args: \[ 1, 'x' \]/);
    assert.match(shown, /messageId: 'id-7'/);
  });

  it("createMessage validates every field, naming the bad value", () => {
    const base = { identifier: "a:b", messageId: "id-1", hops: ["h"] };
    assert.equal(createMessage(base).id, "a:b");
    assert.throws(() => createMessage({ ...base, identifier: "a b" }), InvalidIdentifierError);
    assert.throws(() => createMessage({ ...base, args: "x" as unknown as unknown[] }), /invalid args "x": expected an array/);
    assert.throws(() => createMessage({ ...base, kwargs: [] as unknown as Record<string, unknown> }), InvalidArgumentError);
    assert.throws(() => createMessage({ ...base, messageId: "" }), /invalid messageId ""/);
    assert.throws(() => createMessage({ ...base, replyTo: "bad reply" }), InvalidIdentifierError);
  });

  it("createMessage copies what it is given, so the caller cannot change the message later", () => {
    const args = [1];
    const hops = ["h"];
    const message = createMessage({ identifier: "a:b", args, messageId: "id", hops });
    args.push(2);
    hops.push("x");
    assert.deepEqual(message.args, [1]);
    assert.deepEqual(message.hops, ["h"]);
  });

  it("withHop records one more bus and keeps everything else", () => {
    const message = createMessage({
      identifier: "a:b",
      args: [1],
      kwargs: { k: 1 },
      messageId: "id",
      hops: ["one"],
      replyTo: "r:s",
    });
    const moved = withHop(message, "two");
    assert.deepEqual(moved.hops, ["one", "two"]);
    assert.deepEqual(message.hops, ["one"]);
    assert.deepEqual(moved.toJSON(), { ...message.toJSON(), hops: ["one", "two"] });
  });

  it("withHop copies hops of any length into a new frozen array, the source untouched", () => {
    for (const hops of [[], ["one"], ["one", "two"], ["a", "b", "c", "d"]]) {
      const message = createMessage({ identifier: "a:b", messageId: "id", hops });
      const moved = withHop(message, "next");
      assert.deepEqual(moved.hops, [...hops, "next"]);
      assert.ok(Object.isFrozen(moved.hops));
      assert.deepEqual(message.hops, hops);
    }
  });

  it("a messageId is the origin bus id, a slash, the sequence number in decimal and 8 random characters, whatever the number and however buses take turns", () => {
    const identifier = parseIdentifier("a:b");
    const numbers = [0, 7, 999_999_999, 1e9, 1e9 + 5, 1e9 + 123_456_789, 2e9 + 1, 2 ** 40 - 1, 1_099_511_627_775, 5e14 + 12];
    for (const n of numbers) {
      for (const origin of ["b1", "bus/2", "b1"]) {
        const message = newMessage(identifier, [], NO_KWARGS, Object.freeze([origin]), n, undefined, undefined);
        const { messageId } = message;
        assert.ok(messageId.startsWith(`${origin}/${String(n)}`) && /^[\w-]{8}$/.test(messageId.slice(-8)), messageId);
        assert.equal(messageId.length, `${origin}/${String(n)}`.length + 8);
      }
    }
  });
});

describe("inject (the entry of remote messages)", () => {
  const remote = (messageId: string, hops: string[] = ["far"]): Message =>
    createMessage({ identifier: "r:x", args: [messageId], messageId, hops });

  it("dispatches like a local message and records this bus in hops", () => {
    const bus = new Bus({ id: "here" });
    const got: Message[] = [];
    bus.follow("r:*", (m) => void got.push(m));
    assert.equal(bus.inject(remote("m1")), 1);
    assert.deepEqual(got[0]?.hops, ["far", "here"]);
  });

  it("drops a messageId it already injected, and a message that already passed through it", () => {
    const bus = new Bus({ id: "here" });
    let n = 0;
    bus.follow("r:*", () => void n++);
    assert.equal(bus.inject(remote("m1")), 1);
    assert.equal(bus.inject(remote("m1")), undefined, "duplicate messageId");
    assert.equal(bus.inject(remote("m2", ["here", "far"])), undefined, "looped back");
    assert.equal(bus.hasSeen(remote("m3")), false);
    assert.equal(n, 1);
  });

  it("injectSettled resolves after async followers finished, and drops duplicates too", async () => {
    const bus = new Bus();
    const order: string[] = [];
    bus.follow("r:*", async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push("slow follower done");
    });
    bus.follow("r:*", () => void order.push("sync follower"));
    const reached = await bus.injectSettled(remote("s1"));
    order.push("settled");
    assert.equal(reached, 2);
    assert.deepEqual(order, ["sync follower", "slow follower done", "settled"]);
    assert.equal(await bus.injectSettled(remote("s1")), undefined);
  });

  it("forgets the oldest ids beyond its window", () => {
    const bus = new Bus({ dedupeWindow: 2 });
    bus.inject(remote("a"));
    bus.inject(remote("b"));
    bus.inject(remote("c"));
    assert.equal(bus.hasSeen(remote("a")), false);
    assert.equal(bus.hasSeen(remote("c")), true);
  });
});

describe("bus ids", () => {
  it("refuses an id that would break the wire (control characters end a RedisLink frame's origin line; past 200 characters every messageId is too long for an envelope), naming it", () => {
    for (const id of ["a\nb", "tab\there", "nul\u0000", "del\u007f", "x".repeat(201), ""]) {
      assert.throws(() => new Bus({ id }), (error: Error & { argument?: string; value?: unknown }) => {
        assert.equal(error.name, "InvalidArgumentError");
        assert.equal(error.argument, "id");
        assert.equal(error.value, id);
        return true;
      });
    }
    for (const id of ["x".repeat(200), "bus-1", "名前", "x\ud800"]) assert.equal(new Bus({ id }).id, id);
  });
});
