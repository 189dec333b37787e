// QueueBudget: one bound on what several queues hold together, checked where each queue checks its own
// maxBytes, so that a message past it meets that queue's overflow policy.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type BerryError,
  Bus,
  InvalidArgumentError,
  type Message,
  Queue,
  QueueBudget,
  QueueOverflowError,
} from "../../lib/index.js";

// A message argument that makes the message count `size` characters: `["x…"]` and `{}` in JSON.
const sized = (size: number, mark = ""): string => mark + "x".repeat(size - 6 - mark.length);

const firstArg = (message: Message): string => String(message.args[0]).replace(/x+$/, "");

function overflowsOf(bus: Bus): QueueOverflowError[] {
  const errors: QueueOverflowError[] = [];
  bus.on("error", (error: BerryError) => {
    if (error instanceof QueueOverflowError) errors.push(error);
  });
  return errors;
}

// A bus, its overflow reports, and a budget shared by a reject-new queue of "r:*" and a drop-oldest one of "d:*".
function rejectingAndDropping(maxBytes: number) {
  const bus = new Bus();
  const overflows = overflowsOf(bus);
  const budget = new QueueBudget(maxBytes);
  const rejecting = new Queue("r:*", { bus, budget });
  const dropping = new Queue("d:*", { bus, budget, overflow: "drop-oldest" });
  return { bus, overflows, budget, rejecting, dropping };
}

const droppedArg = (error: QueueOverflowError | undefined): string => firstArg(error?.dropped as Message);

describe("QueueBudget", () => {
  it("bounds two standalone queues together under reject-new, counting a message in every queue that holds it", () => {
    const bus = new Bus();
    const overflows = overflowsOf(bus);
    const budget = new QueueBudget(300, { name: "total" });
    const a = new Queue("a:*", { bus, budget });
    const b = new Queue("b:*", { bus, budget });
    for (const mark of ["a1", "a2"]) bus.twitter("a:m", sized(100, mark));
    bus.twitter("b:m", sized(100, "b1"));
    assert.equal(budget.held, 300);
    assert.equal(bus.twitter("b:m", sized(100, "b2")), 0, "refused: the budget is full");
    assert.equal(b.qsize(), 1);
    assert.equal(overflows.length, 1);
    assert.equal(droppedArg(overflows[0]), "b2");
    assert.match(
      overflows[0]?.message ?? "",
      /queue "b:\*" is full \(total 300 for all the queues sharing it, which hold 300; the message 100\)/,
    );
    // One taken from a: room for one more, in either queue.
    assert.equal(firstArg(a.getNowait()), "a1");
    assert.equal(budget.held, 200);
    bus.twitter("b:m", sized(100, "b3"));
    assert.deepEqual([firstArg(b.getNowait()), firstArg(b.getNowait())], ["b1", "b3"]);
    // Two queues holding one message count it twice.
    const both = new Queue("a:*", { bus, budget });
    bus.twitter("a:m", sized(50, "twice"));
    assert.equal(budget.held, 100 + 50 + 50);
    assert.equal(firstArg(both.getNowait()), "twice");
    assert.equal(budget.held, 150);
  });

  it("counts a shared pair's one buffer once, and its messages past the budget are refused or make room", () => {
    const bus = new Bus();
    const overflows = overflowsOf(bus);
    const budget = new QueueBudget(300);
    const other = new Queue("o:*", { bus, budget });
    bus.twitter("o:m", sized(100, "o1"));
    const first = new Queue("s:*", { bus, budget, shared: true });
    const second = new Queue("s:*", { bus, budget, shared: true });
    bus.twitter("s:m", sized(100, "s1"));
    bus.twitter("s:m", sized(100, "s2"));
    assert.equal(budget.held, 300, "each message of the shared buffer counted once");
    bus.twitter("s:m", sized(100, "s3"));
    assert.equal(droppedArg(overflows[0]), "s3");
    assert.match(overflows[0]?.message ?? "", /budget 300 for all the queues sharing it/);
    assert.deepEqual([firstArg(first.getNowait()), firstArg(second.getNowait())], ["s1", "s2"]);
    assert.equal(other.qsize(), 1);

    // drop-oldest: the shared pair's own oldest make room, never another queue's.
    const budget2 = new QueueBudget(300);
    const kept = new Queue("k:*", { bus, budget: budget2 });
    const x = new Queue("d:*", { bus, budget: budget2, shared: true, overflow: "drop-oldest" });
    const y = new Queue("d:*", { bus, budget: budget2, shared: true, overflow: "drop-oldest" });
    bus.twitter("k:m", sized(100, "k1"));
    bus.twitter("d:m", sized(100, "d1"));
    bus.twitter("d:m", sized(100, "d2"));
    overflows.length = 0;
    bus.twitter("d:m", sized(150, "d3"));
    assert.deepEqual(overflows.map(droppedArg), ["d1", "d2"], "both of the pair's make room for 150");
    assert.deepEqual([kept.qsize(), x.qsize()], [1, 1]);
    assert.equal(budget2.held, 250);
    assert.equal(firstArg(y.getNowait()), "d3");
  });

  it("drop-oldest drops this queue's oldest until the new one fits, and nothing for one that never would", () => {
    const { bus, overflows, budget, rejecting, dropping } = rejectingAndDropping(300);
    bus.twitter("r:m", sized(150, "r1"));
    bus.twitter("d:m", sized(50, "d1"));
    bus.twitter("d:m", sized(100, "d2"));
    bus.twitter("d:m", sized(100, "d3"));
    assert.deepEqual(overflows.map(droppedArg), ["d1", "d2"], "d1 alone left too little room");
    assert.equal(budget.held, 250);
    // 200 would fit only without r's 150: d's message is kept and the new one refused.
    bus.twitter("d:m", sized(200, "big"));
    assert.deepEqual(overflows.map(droppedArg), ["d1", "d2", "big"]);
    assert.deepEqual([firstArg(dropping.getNowait()), rejecting.qsize()], ["d3", 1]);
  });

  it("does not count a message a waiting get takes", async () => {
    const bus = new Bus();
    const overflows = overflowsOf(bus);
    const budget = new QueueBudget(100);
    const full = new Queue("f:*", { bus, budget });
    const waited = new Queue("w:*", { bus, budget });
    bus.twitter("f:m", sized(100, "f1"));
    const got = waited.get({ timeout: 1000 });
    bus.twitter("w:m", sized(100, "w1"));
    assert.equal(firstArg(await got), "w1");
    assert.deepEqual([overflows.length, budget.held, full.qsize()], [0, 100, 1]);
  });

  it("gets back what take, takeAll (close) and the bus closing held", () => {
    const bus = new Bus();
    const budget = new QueueBudget(1000);
    const taken = new Queue("t:*", { bus, budget });
    const closed = new Queue("c:*", { bus, budget });
    const shared = [new Queue("s:*", { bus, budget, shared: true }), new Queue("s:*", { bus, budget, shared: true })];
    const left = new Queue("l:*", { bus, budget });
    for (const name of ["t", "c", "s", "l"]) for (let n = 0; n < 2; n++) bus.twitter(`${name}:m`, sized(100));
    assert.equal(budget.held, 800);
    taken.getNowait();
    assert.equal(budget.held, 700);
    assert.equal(closed.close().length, 2);
    assert.equal(budget.held, 500);
    assert.deepEqual(shared[0]?.close(), [], "the other handle keeps the shared buffer");
    assert.equal(budget.held, 500);
    assert.equal(shared[1]?.close().length, 2);
    assert.equal(budget.held, 300);
    bus.close();
    assert.equal(budget.held, 0, "a closed bus's queues hold nothing for anyone");
    assert.equal(left.close().length, 2, "close still returns what was queued");
    assert.equal(budget.held, 0);
  });

  it("refuses a shared queue on another budget (or none) than its filter's open one; an isolated budget shares apart", () => {
    const bus = new Bus();
    const one = new QueueBudget(100, { name: "one" });
    new Queue("m", { bus, shared: true, budget: one });
    assert.throws(
      () => new Queue("m", { bus, shared: true, budget: new QueueBudget(100, { name: "two" }) }),
      (error: unknown) =>
        error instanceof InvalidArgumentError &&
        /invalid shared queue options .*"budget":"two".*budget: "one" }, the same budget object\)/.test(error.message),
    );
    assert.throws(() => new Queue("m", { bus, shared: true }), /budget: "one"/);
    new Queue("m", { bus, shared: true, budget: one });

    const apart = new QueueBudget(100, { isolated: true });
    const app = new Queue("i", { bus, shared: true });
    const isolated = [new Queue("i", { bus, shared: true, budget: apart }), new Queue("i", { bus, shared: true, budget: apart })];
    assert.equal(bus.twitter("i:m", 1), 2, "the application's buffer and the isolated pair's");
    assert.deepEqual([app.qsize(), isolated[1]?.qsize()], [1, 1]);
  });

  it("refuses a maxBytes that is not an integer >= 1, naming it, and a budget that is not a QueueBudget", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "10"]) {
      assert.throws(
        () => new QueueBudget(bad as number),
        (error: unknown) => error instanceof InvalidArgumentError && error.argument === "maxBytes" && Object.is(error.value, bad),
      );
    }
    assert.throws(() => new QueueBudget(0), /invalid maxBytes 0: expected an integer >= 1/);
    assert.throws(
      () => new Queue("b", { bus: new Bus(), budget: { maxBytes: 10 } as unknown as QueueBudget }),
      /invalid budget \{"maxBytes":10\}: expected a QueueBudget/,
    );
  });

  it("never queues a message larger than the budget alone, under either policy, and drops nothing for it", () => {
    const { bus, overflows, budget, rejecting, dropping } = rejectingAndDropping(100);
    bus.twitter("d:m", sized(40, "small"));
    bus.twitter("r:m", sized(101, "huge-r"));
    bus.twitter("d:m", sized(101, "huge-d"));
    assert.deepEqual(overflows.map(droppedArg), ["huge-r", "huge-d"]);
    assert.match(overflows[1]?.message ?? "", /budget 100 for all the queues sharing it, which hold 40; the message 101/);
    assert.deepEqual([rejecting.qsize(), firstArg(dropping.getNowait()), budget.held], [0, "small", 0]);
  });
});
