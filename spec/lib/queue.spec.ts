import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type BerryError,
  Bus,
  InvalidArgumentError,
  type Message,
  Queue,
  QueueClosedError,
  QueueEmptyError,
  QueueOverflowError,
  QueueTimeoutError,
  twitter,
} from "../../lib/index.js";
import { sleep } from "../helpers/wait-for.js";

const firstArg = (m: Message): unknown => m.args[0];

describe("Queue", () => {
  it("collects matching messages in FIFO order; getNowait and qsize/empty", () => {
    const bus = new Bus();
    const queue = new Queue("task:*", { bus });
    assert.equal(queue.empty(), true);
    for (let i = 0; i < 5; i++) bus.twitter("task:run", i);
    bus.twitter("other:run", "ignored");
    assert.equal(queue.qsize(), 5);
    assert.deepEqual([0, 1, 2, 3, 4].map(() => firstArg(queue.getNowait())), [0, 1, 2, 3, 4]);
    assert.throws(() => queue.getNowait(), (e: unknown) => e instanceof QueueEmptyError && /queue "task:\*" is empty/.test(e.message));
  });

  it("standalone queues with one filter each get their own copy", () => {
    const bus = new Bus();
    const a = new Queue("job", { bus });
    const b = new Queue("job", { bus });
    assert.equal(bus.twitter("job:x", 1), 2);
    assert.equal(firstArg(a.getNowait()), 1);
    assert.equal(firstArg(b.getNowait()), 1);
  });

  it("shared queues with one filter compete: each message is taken once", async () => {
    const bus = new Bus();
    const a = new Queue("job", { bus, shared: true });
    const b = new Queue("job", { bus, shared: true });
    assert.equal(bus.twitter("job:x", 1), 1, "one shared buffer counts once");
    bus.twitter("job:x", 2);
    bus.twitter("job:x", 3);
    assert.equal(a.qsize(), 3);
    assert.equal(firstArg(a.getNowait()), 1);
    assert.equal(firstArg(b.getNowait()), 2);
    assert.equal(firstArg(await a.get()), 3);
    assert.throws(() => b.getNowait(), QueueEmptyError);
  });

  it("get() waits for a message; waiting getters are served in order", async () => {
    const bus = new Bus();
    const queue = new Queue("w", { bus });
    const first = queue.get();
    const second = queue.get({ timeout: 1000 });
    setTimeout(() => {
      bus.twitter("w:a", "one");
      bus.twitter("w:a", "two");
    }, 10);
    assert.equal(firstArg(await first), "one");
    assert.equal(firstArg(await second), "two");
  });

  it("get({ timeout }) rejects with QueueTimeoutError and leaves no waiter behind", async () => {
    const bus = new Bus();
    const queue = new Queue("t", { bus });
    const started = Date.now();
    await assert.rejects(queue.get({ timeout: 30 }), (e: unknown) => e instanceof QueueTimeoutError && e.timeout === 30);
    assert.ok(Date.now() - started >= 25);
    bus.twitter("t:x", "kept");
    assert.equal(firstArg(queue.getNowait()), "kept", "the timed-out waiter did not swallow the message");
  });

  it("get() is aborted by an AbortSignal", async () => {
    const queue = new Queue("abort", { bus: new Bus() });
    const controller = new AbortController();
    const pending = queue.get({ signal: controller.signal });
    controller.abort(new Error("stop waiting"));
    await assert.rejects(pending, /stop waiting/);
  });

  it("refuses a bad timeout, maxsize or overflow, naming the value", async () => {
    const bus = new Bus();
    await assert.rejects(new Queue("a", { bus }).get({ timeout: -1 }), /invalid timeout -1/);
    assert.throws(() => new Queue("a", { bus, maxsize: 1.5 }), /invalid maxsize 1.5/);
    assert.throws(() => new Queue("a", { bus, overflow: "spill" as "reject-new" }), /invalid overflow "spill"/);
    assert.throws(() => new Queue("a b", { bus }), /invalid identifier "a b"/);
  });

  it("async iteration yields messages until close()", async () => {
    const bus = new Bus();
    const queue = new Queue("it", { bus });
    const seen: unknown[] = [];
    const done = (async () => {
      for await (const message of queue) seen.push(firstArg(message));
    })();
    bus.twitter("it:x", 1);
    bus.twitter("it:x", 2);
    await sleep(5);
    bus.twitter("it:x", 3);
    await sleep(5);
    queue.close();
    await done;
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it("close() rejects pending gets, stops intake and returns what was still queued", async () => {
    const bus = new Bus();
    const queue = new Queue("c", { bus });
    bus.twitter("c:x", "left");
    const other = new Queue("c", { bus });
    const pending = other.get();
    assert.deepEqual(other.close(), []);
    await assert.rejects(pending, QueueClosedError);
    const left = queue.close();
    assert.deepEqual(left.map(firstArg), ["left"]);
    assert.equal(bus.twitter("c:x"), 0, "closed queues receive nothing");
    await assert.rejects(queue.get(), QueueClosedError);
    assert.throws(() => queue.getNowait(), QueueClosedError);
  });

  it("a shared buffer lives until its last handle closes", () => {
    const bus = new Bus();
    const a = new Queue("s", { bus, shared: true });
    const b = new Queue("s", { bus, shared: true });
    bus.twitter("s:x", 1);
    assert.deepEqual(a.close(), [], "b still holds the buffer");
    assert.equal(firstArg(b.getNowait()), 1);
    bus.twitter("s:x", 2);
    assert.deepEqual(b.close().map(firstArg), [2]);
    const c = new Queue("s", { bus, shared: true });
    assert.equal(c.qsize(), 0, "a new shared queue starts a new buffer");
  });

  it("shared queues must agree on maxsize and overflow", () => {
    const bus = new Bus();
    new Queue("m", { bus, shared: true, maxsize: 2 });
    assert.throws(() => new Queue("m", { bus, shared: true, maxsize: 3 }), InvalidArgumentError);
  });

  it('bounded, "reject-new" (default): a full queue refuses the newest and reports it', () => {
    const bus = new Bus();
    const errors: BerryError[] = [];
    bus.on("error", (e) => void errors.push(e));
    const queue = new Queue("b", { bus, maxsize: 2 });
    assert.equal(bus.twitter("b:x", 1), 1);
    assert.equal(bus.twitter("b:x", 2), 1);
    assert.equal(queue.full(), true);
    assert.equal(bus.twitter("b:x", 3), 0, "not counted as received");
    assert.deepEqual([queue.getNowait(), queue.getNowait()].map(firstArg), [1, 2]);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof QueueOverflowError);
    assert.match(errors[0].message, /queue "b:\*" is full \(maxsize 2\): dropped message "b:x"/);
  });

  it('bounded, "drop-oldest": the oldest makes room and is reported', () => {
    const bus = new Bus();
    const dropped: unknown[] = [];
    bus.on("error", (e) => {
      if (e instanceof QueueOverflowError) dropped.push(firstArg(e.dropped as Message));
    });
    const queue = new Queue("d", { bus, maxsize: 2, overflow: "drop-oldest" });
    for (let i = 1; i <= 4; i++) bus.twitter("d:x", i);
    assert.deepEqual([queue.getNowait(), queue.getNowait()].map(firstArg), [3, 4]);
    assert.deepEqual(dropped, [1, 2]);
  });

  it("uses the default bus when none is given", () => {
    const queue = new Queue("queue-default-spec");
    assert.equal(twitter("queue-default-spec:x", 9), 1);
    assert.equal(firstArg(queue.getNowait()), 9);
    queue.close();
  });
});
