// Red team r31, compiled in both decorator modes like decorators.spec.ts: the options of `@Follower` and
// `@following`. A bus option that is no Bus was taken when the class was defined, and then every `new` of
// a `@Follower` class threw "bus.register is not a function" (a static follower's class definition threw
// a TypeError naming nothing); `null` options threw "Cannot read properties of null". A static follower
// whose bus was closed threw BusClosedError out of its class definition, so the module defining it failed
// to load for good, where an instance built once its bus closed is constructed all the same (r30).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, Follower, following, InvalidArgumentError, type Message } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";

const refusal = (argument: string, value: RegExp) => (error: unknown) =>
  error instanceof InvalidArgumentError && error.argument === argument && value.test(error.message);

describe(`r31 @Follower and @following options (${mode} decorators)`, () => {
  it("@Follower({ bus }) with no Bus is refused when the class is defined, naming the value", () => {
    for (const bus of [{}, "bus", 42, null]) {
      assert.throws(() => Follower({ bus: bus as unknown as Bus }), refusal("@Follower option bus", /expected a Bus/));
    }
    assert.throws(
      () => Follower({ bus: { closed: false } as unknown as Bus }),
      /invalid @Follower option bus \{"closed":false\}/,
    );
  });

  it("@following with options that are no object, or a bus that is no Bus, is refused naming the value", () => {
    assert.throws(() => following("a:b", null as never), refusal("@following options", /null: expected an object/));
    assert.throws(() => following("a:b", "fast" as never), refusal("@following options", /"fast"/));
    assert.throws(
      () => following("a:b", { bus: {} as unknown as Bus }),
      refusal("@following option bus", /\{\}: expected a Bus/),
    );
    assert.throws(() => following("a:b", { bus: "main" as unknown as Bus }), refusal("@following option bus", /"main"/));
  });

  it("a static follower whose bus is closed still defines its class; another bus can register it", () => {
    const closed = new Bus();
    closed.close();
    const got: string[] = [];
    // biome-ignore lint/complexity/noStaticOnlyClass: a static follower is what is tested
    class Late {
      @following("late:run", { bus: closed })
      static run(message: Message): void {
        got.push(message.id);
      }
    }
    assert.equal(typeof Late.run, "function");
    const open = new Bus();
    open.register(Late);
    assert.equal(open.twitter("late:run"), 1);
    assert.deepEqual(got, ["late:run"]);
    open.close();
  });
});
