// r31 (found by the decorators red team, fixed after it): a generator function or method as a follower was
// taken, called with each message, and returned an iterator nobody reads: its body never ran, and every
// message it followed was lost without a word (exposed, its answer was that iterator). `follow`,
// `@following`, `expose` and `@exposed` (both modes) refuse one now, naming it. Compiled in both decorator modes like decorators.spec.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, expose, exposed, following, InvalidArgumentError, type Message } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";

const generatorRefused = (argument: RegExp) => (error: unknown) =>
  error instanceof InvalidArgumentError && argument.test(error.argument) && /not a generator/.test(error.message);

describe(`r31 generator followers (${mode} decorators)`, () => {
  it("bus.follow refuses a generator or async generator function, naming it", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    assert.throws(() => bus.follow("a:b", function* onB(_message: Message) {}), generatorRefused(/^follower$/));
    assert.throws(() => bus.follow("a:b", async function* onB(_message: Message) {}), generatorRefused(/^follower$/));
    assert.equal(bus.size, 0);
    // A plain, async or arrow follower is taken as before.
    const got: string[] = [];
    bus.follow("a:b", function onB(message) {
      got.push(message.id);
    });
    bus.follow("a:b", async (message) => void got.push(message.id));
    assert.equal(bus.twitter("a:b"), 2);
  });

  it("@following on a generator method is refused when the class is defined, naming the method", () => {
    assert.throws(
      () => {
        class Worker {
          @following("job:*")
          *run(_message: Message): Generator<number> {
            yield 1;
          }
        }
        return Worker;
      },
      generatorRefused(/^@following method run$/),
    );
    assert.throws(
      () => {
        class Worker {
          @following("job:*")
          async *run(_message: Message): AsyncGenerator<number> {
            yield 1;
          }
        }
        return Worker;
      },
      generatorRefused(/^@following method run$/),
    );
  });

  it("expose and @exposed refuse a generator: the answer would be an iterator, the body never run", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    assert.throws(
      () =>
        expose(
          "calc:range",
          function* range(n: number) {
            yield n;
          },
          { bus },
        ),
      generatorRefused(/^fn$/),
    );
    assert.equal(bus.size, 0);
    assert.throws(
      () => {
        class Calc {
          @exposed("calc:range")
          *range(n: number): Generator<number> {
            yield n;
          }
        }
        return Calc;
      },
      generatorRefused(/^@exposed method range$/),
    );
  });
});
