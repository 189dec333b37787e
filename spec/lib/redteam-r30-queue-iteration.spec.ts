// Red team r30: ending a queue's async iteration while a next() waits (a next() raced against a timeout,
// then return()). The iterator was an async generator: its return() waited behind that next() until a
// message came, and the message went to the next() its caller had given up on: lost to everybody.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, Queue } from "../../lib/index.js";
import { sleep } from "../helpers/wait-for.js";

const TIMED_OUT = Symbol("timed out");

describe("red team r30: ending a queue's iteration while a next() waits", () => {
  it("return() settles at once, the waiting next() ends done, and the next message stays queued", async () => {
    const bus = new Bus();
    const queue = new Queue("job:*", { bus });
    const iterator = queue[Symbol.asyncIterator]();
    const waiting = iterator.next();
    assert.equal(await Promise.race([waiting, sleep(20).then(() => TIMED_OUT)]), TIMED_OUT);
    const returned = (iterator.return as NonNullable<typeof iterator.return>)(undefined);
    assert.deepEqual(await Promise.race([returned, sleep(200).then(() => TIMED_OUT)]), { value: undefined, done: true });
    assert.deepEqual(await waiting, { value: undefined, done: true });
    assert.equal(bus.twitter("job:run", 1), 1);
    assert.deepEqual(queue.getNowait().args, [1], "kept for the next reader");
    assert.deepEqual(await iterator.next(), { value: undefined, done: true }, "an ended iteration stays ended");
    queue.close();
    bus.close();
  });

  it("a message a waiting next() took before return() is still yielded by it", async () => {
    const bus = new Bus();
    const queue = new Queue("job:*", { bus });
    const iterator = queue[Symbol.asyncIterator]();
    const waiting = iterator.next();
    await sleep(5);
    bus.twitter("job:run", "taken");
    const returned = (iterator.return as NonNullable<typeof iterator.return>)(undefined);
    const got = await waiting;
    assert.equal(got.done, false);
    assert.deepEqual(got.value?.args, ["taken"]);
    assert.deepEqual(await returned, { value: undefined, done: true });
    queue.close();
    bus.close();
  });

  it("for await ... break leaves the rest queued; closing the queue ends a loop that waits", async () => {
    const bus = new Bus();
    const queue = new Queue("job:*", { bus });
    for (let i = 0; i < 3; i++) bus.twitter("job:run", i);
    for await (const message of queue) {
      assert.deepEqual(message.args, [0]);
      break;
    }
    assert.equal(queue.qsize(), 2);
    const seen: unknown[] = [];
    const loop = (async () => {
      for await (const message of queue) seen.push(message.args[0]);
    })();
    await sleep(5);
    queue.close();
    await loop;
    assert.deepEqual(seen, [1, 2]);
    bus.close();
  });

  it("ending many iterations that wait leaves no get waiting: every message is queued", async () => {
    const bus = new Bus();
    const queue = new Queue("job:*", { bus });
    const iterators = Array.from({ length: 200 }, () => queue[Symbol.asyncIterator]());
    const waiting = iterators.map((iterator) => iterator.next());
    await Promise.all(iterators.map((iterator) => (iterator.return as NonNullable<typeof iterator.return>)(undefined)));
    assert.ok((await Promise.all(waiting)).every((result) => result.done === true));
    for (let i = 0; i < 10; i++) bus.twitter("job:run", i);
    assert.equal(queue.qsize(), 10);
    queue.close();
    bus.close();
  });
});
