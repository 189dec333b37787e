// Red team r31 review, compiled in both decorator modes like decorators.spec.ts: a generator is refused
// as `@following` method (r31), but a subclass may override a `@following` method with one (it compiles:
// the base method returns void or unknown). Each message then called it, got an iterator nobody read, and
// the body never ran: every message lost, no error. Registering such an instance is refused, naming it.
// An @exposed method overridden so answered its requests with the iterator: each gets an error now.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, exposed, Follower, following, InvalidArgumentError, type Message } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";

const refused = (argument: string) => (error: unknown) =>
  error instanceof InvalidArgumentError && error.argument === argument && /not a generator/.test(error.message);

describe(`r31 review: a @following method overridden by a generator (${mode} decorators)`, () => {
  it("a @Follower subclass's instance is refused when built, none of its followers registered", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const ran: string[] = [];
    @Follower({ bus })
    class Base {
      @following("job:*")
      log(message: Message): void {
        ran.push(`log ${message.action}`);
      }
      @following("job:*")
      run(_message: Message): unknown {
        ran.push("base");
        return undefined;
      }
    }
    class Worker extends Base {
      override *run(_message: Message): Generator<number> {
        ran.push("worker"); // never ran
        yield 1;
      }
    }
    class AsyncWorker extends Base {
      override async *run(_message: Message): AsyncGenerator<number> {
        ran.push("async worker");
        yield 1;
      }
    }
    const base = new Base();
    assert.throws(() => new Worker(), refused("method Worker.run"));
    assert.throws(() => new AsyncWorker(), refused("method AsyncWorker.run"));
    assert.equal(bus.size, 2); // the base instance's two followers, nothing of the refused ones
    assert.equal(bus.twitter("job:go"), 2);
    assert.deepEqual(ran, ["log go", "base"]);
    assert.equal(bus.unregister(base), true);
  });

  it("bus.register refuses one too, and takes a plain override as before", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const ran: string[] = [];
    class Base {
      @following("job:*")
      run(_message: Message): unknown {
        ran.push("base");
        return undefined;
      }
    }
    class Worker extends Base {
      override *run(_message: Message): Generator<number> {
        yield 1;
      }
    }
    class Plain extends Base {
      override run(_message: Message): unknown {
        ran.push("plain");
        return undefined;
      }
    }
    assert.throws(() => bus.register(new Worker()), refused("method Worker.run"));
    assert.equal(bus.size, 0);
    bus.register(new Plain());
    assert.equal(bus.twitter("job:go"), 1);
    assert.deepEqual(ran, ["plain"]);
  });

  it("an @exposed method overridden by a generator answers an error naming it, not the iterator", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const ran: string[] = [];
    @Follower({ bus })
    class Calc {
      @exposed("calc:range")
      range(n: number): unknown {
        return n;
      }
    }
    class Lazy extends Calc {
      override *range(n: number): Generator<number> {
        ran.push("generator"); // never ran
        yield n;
      }
    }
    const reported: unknown[] = [];
    bus.on("error", (error) => void reported.push(error)); // the follower's failure is reported too
    new Lazy();
    await assert.rejects(
      bus.ask("calc:range", 3),
      (error: unknown) => error instanceof Error && /method range/.test(error.message) && /not a generator/.test(error.message),
    );
    assert.deepEqual(ran, []);
    assert.equal(reported.length, 1);
  });

  it("a getter in the method's place is not called when registering (the subclass is not built yet)", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const ran: string[] = [];
    @Follower({ bus })
    class Base {
      @following("job:*")
      run(_message: Message): unknown {
        return undefined;
      }
    }
    class Lazy extends Base {
      readonly handler: (message: Message) => void;
      constructor() {
        super(); // registers, before `handler` is set
        this.handler = (message) => void ran.push(`lazy ${message.action}`);
      }
    }
    Object.defineProperty(Lazy.prototype, "run", {
      get(this: Lazy) {
        if (this.handler === undefined) throw new Error("read before the constructor set it");
        return this.handler;
      },
    });
    new Lazy();
    assert.equal(bus.twitter("job:go"), 1);
    assert.deepEqual(ran, ["lazy go"]);
  });
});
