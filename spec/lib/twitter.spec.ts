import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type BerryError,
  Bus,
  BusClosedError,
  ErrorListenerError,
  FollowerError,
  InvalidArgumentError,
  kw,
  type Message,
  Queue,
} from "../../lib/index.js";
import { sleep } from "../helpers/wait-for.js";

function collectErrors(bus: Bus): BerryError[] {
  const errors: BerryError[] = [];
  bus.on("error", (error) => void errors.push(error));
  return errors;
}

describe("twitter", () => {
  it("delivers args and kwargs in a frozen message and returns the number of receivers", () => {
    const bus = new Bus();
    const got: Message[] = [];
    bus.follow("app:log", (m) => void got.push(m));
    bus.follow("app:*", (m) => void got.push(m));
    const queue = new Queue("*:log", { bus });
    assert.equal(bus.twitter("app:log", "disk full", 2, kw({ level: 3 })), 3);
    assert.equal(got.length, 2);
    const m = got[0] as Message;
    assert.equal(got[1], m, "every follower sees the same message object");
    assert.deepEqual(m.args, ["disk full", 2]);
    assert.deepEqual(m.kwargs, { level: 3 });
    assert.equal(m.name, "app");
    assert.equal(m.action, "log");
    assert.ok(Object.isFrozen(m) && Object.isFrozen(m.args) && Object.isFrozen(m.kwargs));
    assert.deepEqual(m.hops, [bus.id]);
    assert.equal(typeof m.timestamp, "number");
    assert.equal(queue.getNowait(), m);
  });

  it("gives every message a unique messageId", () => {
    const bus = new Bus();
    const ids = new Set<string>();
    bus.follow("*:*", (m) => void ids.add(m.messageId));
    for (let i = 0; i < 1000; i++) bus.twitter("x:y");
    assert.equal(ids.size, 1000);
    const other = new Bus();
    const otherIds: string[] = [];
    other.follow("*:*", (m) => void otherIds.push(m.messageId));
    other.twitter("x:y");
    assert.ok(!ids.has(otherIds[0] as string), "ids differ across buses");
  });

  it("delivers in registration order, whatever the pattern", () => {
    const bus = new Bus();
    const order: string[] = [];
    bus.follow("*:*", () => void order.push("1 *:*"));
    bus.follow("job:run", () => void order.push("2 job:run"));
    bus.follow("*:run", () => void order.push("3 *:run"));
    bus.follow("job:*", () => void order.push("4 job:*"));
    bus.follow("job:run", () => void order.push("5 job:run"));
    bus.twitter("job:run");
    assert.deepEqual(order, ["1 *:*", "2 job:run", "3 *:run", "4 job:*", "5 job:run"]);
  });

  it("keeps delivering when a follower throws, and reports the error with the message", () => {
    const bus = new Bus();
    const errors = collectErrors(bus);
    const got: string[] = [];
    bus.follow("a:b", () => void got.push("first"));
    bus.follow("a:b", function broken() {
      throw new Error("boom");
    });
    bus.follow("a:b", () => void got.push("third"));
    assert.equal(bus.twitter("a:b"), 3);
    assert.deepEqual(got, ["first", "third"]);
    assert.equal(errors.length, 1);
    const error = errors[0] as FollowerError;
    assert.ok(error instanceof FollowerError);
    assert.equal(error.code, "FOLLOWER_FAILED");
    assert.equal(error.identifier, "a:b");
    assert.equal(error.follower, "broken");
    assert.match(error.message, /broken failed on message "a:b".*boom/);
    assert.equal((error.cause as Error).message, "boom");
  });

  it("reports a rejected promise from an async follower without stopping the others", async () => {
    const bus = new Bus();
    const errors = collectErrors(bus);
    const got: string[] = [];
    bus.follow("a:b", async () => {
      await sleep(1);
      throw new Error("async boom");
    });
    bus.follow("a:b", () => void got.push("sync"));
    assert.equal(bus.twitter("a:b"), 2);
    assert.deepEqual(got, ["sync"]);
    await sleep(20);
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? "", /async boom/);
  });

  it("reports a throwing guard and skips only that follower", () => {
    const bus = new Bus();
    const errors = collectErrors(bus);
    let reached = 0;
    bus.follow("a:b", () => void reached++, {
      guard: () => {
        throw new Error("bad guard");
      },
    });
    bus.follow("a:b", () => void reached++);
    assert.equal(bus.twitter("a:b"), 1);
    assert.equal(reached, 1);
    assert.match(errors[0]?.message ?? "", /\(guard\).*bad guard/);
  });

  it("turns an error nobody listens to into a process warning, never a silent loss", async () => {
    const bus = new Bus();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on("warning", onWarning);
    bus.follow("a:b", () => {
      throw new Error("unheard");
    });
    bus.twitter("a:b");
    await sleep(10);
    process.off("warning", onWarning);
    assert.ok(warnings.some((w) => w instanceof FollowerError && /unheard/.test(w.message)));
  });

  it("an error listener that throws stops neither the other followers nor reaches the sender: one warning", async () => {
    const bus = new Bus();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on("warning", onWarning);
    try {
      bus.on("error", () => {
        throw new Error("listener broke");
      });
      const reached: string[] = [];
      bus.follow("a:b", () => {
        throw new Error("first fails");
      });
      bus.follow("a:b", () => void reached.push("second"));
      bus.follow("a:b", () => void reached.push("third"));
      assert.equal(bus.twitter("a:b"), 3, "twitter() returns normally");
      assert.deepEqual(reached, ["second", "third"]);
      await sleep(10);
    } finally {
      process.off("warning", onWarning);
    }
    const listenerWarnings = warnings.filter((w) => w instanceof ErrorListenerError);
    assert.equal(listenerWarnings.length, 1, "reported once");
    const [warning] = listenerWarnings as [ErrorListenerError];
    assert.equal(warning.code, "ERROR_LISTENER_FAILED");
    assert.ok(warning.reported instanceof FollowerError);
    assert.match(warning.message, /listener broke/);
    assert.match(warning.message, /first fails/);
  });

  it("refuses kw() anywhere but last, naming its position (it would silently travel as an argument)", async () => {
    const bus = new Bus();
    let reached = 0;
    bus.follow("a:b", () => void reached++);
    assert.throws(
      () => bus.twitter("a:b", kw({ level: 3 }), "text"),
      (e: unknown) => e instanceof InvalidArgumentError && /kw\(\) at argument 1 \{"level":3\}/.test(e.message),
    );
    assert.throws(() => bus.twitter("a:b", 1, kw({ a: 1 }), kw({ b: 2 })), /kw\(\) at argument 2/);
    await assert.rejects(bus.talk("a:b", "a:c", kw({ a: 1 }), 2), /kw\(\) at argument 1/);
    assert.equal(reached, 0);
    assert.equal(bus.twitter("a:b", "text", kw({ level: 3 })), 1, "last is fine");
  });

  it("a follower added during dispatch misses the current message; one removed during dispatch is skipped", () => {
    const bus = new Bus();
    const got: string[] = [];
    let stopThird: () => boolean = () => false;
    bus.follow("x:y", () => {
      got.push("first");
      bus.follow("x:y", () => void got.push("added"));
      stopThird();
    });
    bus.follow("x:y", () => void got.push("second"));
    stopThird = bus.follow("x:y", () => void got.push("third"));
    assert.equal(bus.twitter("x:y"), 2);
    assert.deepEqual(got, ["first", "second"]);
    got.length = 0;
    bus.twitter("x:y");
    assert.deepEqual(got, ["first", "second", "added"]);
  });

  it("dispatches nested twitters synchronously, depth first", () => {
    const bus = new Bus();
    const order: string[] = [];
    bus.follow("outer:*", () => {
      order.push("outer");
      bus.twitter("inner:go");
    });
    bus.follow("inner:*", () => void order.push("inner"));
    bus.follow("outer:*", () => void order.push("outer-2"));
    bus.twitter("outer:go");
    assert.deepEqual(order, ["outer", "inner", "outer-2"]);
  });

  it("routes by at most four look-ups: unrelated followers are not visited", () => {
    const bus = new Bus();
    let unrelated = 0;
    for (let i = 0; i < 10_000; i++) bus.follow(`other${i}:act${i}`, () => void unrelated++);
    let hit = 0;
    bus.follow("n:a", () => void hit++);
    bus.follow("*:a", () => void hit++);
    assert.equal(bus.twitter("n:a"), 2);
    assert.equal(hit, 2);
    assert.equal(unrelated, 0);
  });

  it("refuses kwargs that are not a plain object", () => {
    assert.throws(() => kw([1] as unknown as Record<string, unknown>), /invalid kwargs \[1\]: expected a plain object/);
    assert.throws(() => kw(new Date() as unknown as Record<string, unknown>), /plain object/);
  });

  it("after close() refuses new messages and followers, and closes queues", async () => {
    const bus = new Bus();
    const queue = new Queue("a:*", { bus });
    const pending = queue.get();
    bus.close();
    await assert.rejects(pending, /queue "a:\*" is closed/);
    assert.throws(() => bus.twitter("a:b"), BusClosedError);
    assert.throws(() => bus.follow("a:b", () => {}), BusClosedError);
    assert.equal(bus.size, 0);
  });
});
