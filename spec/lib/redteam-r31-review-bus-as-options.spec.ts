// Red team r31 review: options are checked since r31 (an object; a `bus` that is a Bus), but a Bus given
// in the place of the options (`@Follower(bus)` for `@Follower({ bus })`, `expose(id, fn, bus)`) is an
// object: no `bus` option was found in it and the default bus was used without a word (instances
// registered there, exceptions reported there, stubs asking there, queues filled from there). TypeScript refuses it; JavaScript did
// not. Each is refused now, naming it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  autoTwitter,
  Bus,
  defaultBus,
  expose,
  Follower,
  following,
  InvalidArgumentError,
  Queue,
  stub,
  twitterException,
} from "../../lib/index.js";

const refusal = (argument: string) => (error: unknown) =>
  error instanceof InvalidArgumentError && error.argument === argument && /not a Bus/.test(error.message);

describe("red team r31 review: a Bus in the place of the options", () => {
  it("is refused by @Follower, @following, autoTwitter, twitterException, stub, expose and Queue, naming it", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const before = defaultBus.size;
    assert.throws(() => Follower(bus as never), refusal("@Follower argument"));
    assert.throws(() => following("a:b", bus as never), refusal("@following options"));
    assert.throws(() => autoTwitter("job", bus as never), refusal("autoTwitter options"));
    assert.throws(() => twitterException("job:failed", bus as never), refusal("twitterException options"));
    assert.throws(() => stub("calc:add", bus as never), refusal("stub options"));
    assert.throws(() => expose("calc:add", (a: number) => a, bus as never), refusal("expose options"));
    assert.throws(() => new Queue("job:*", bus as never), refusal("Queue options"));
    assert.equal(defaultBus.size, before);
    assert.equal(bus.size, 0);
  });

  it("the options with that bus are taken", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const reported: string[] = [];
    bus.follow("job:failed", (message) => void reported.push(message.id));
    expose("calc:add", (a: number, b: number) => a + b, { bus });
    assert.equal(await stub<[number, number], number>("calc:add", { bus })(1, 2), 3);
    twitterException("job:failed", { bus })(() => {
      throw new Error("boom");
    })();
    assert.deepEqual(reported, ["job:failed"]);
    assert.equal(typeof Follower({ bus }), "function");
    assert.equal(typeof following("a:b", {}), "function");
    new Queue("job:*", { bus }).close();
  });
});
