// Red team r30, compiled in both decorator modes like decorators.spec.ts: an instance of a @Follower class
// built once its bus was closed. Registering threw BusClosedError out of the constructor, so every later
// `new` of the class failed, and in a chain of @Follower classes on two buses the instance was left
// registered on the buses before the closed one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, Follower, following, type Message } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";

describe(`r30 a @Follower class whose bus is closed (${mode} decorators)`, () => {
  it("still constructs; it registers on the buses still open only", () => {
    const closed = new Bus();
    const open = new Bus();
    const got: string[] = [];
    @Follower({ bus: closed })
    class Base {
      @following("job:run")
      run(message: Message): void {
        got.push(`${this.constructor.name} ${message.id}`);
      }
    }
    @Follower({ bus: open })
    class Sub extends Base {}
    closed.close();
    const base = new Base();
    const sub = new Sub();
    assert.ok(base instanceof Base && sub instanceof Sub);
    assert.equal(open.size, 1);
    assert.equal(open.twitter("job:run"), 1);
    assert.deepEqual(got, ["Sub job:run"]);
    open.close();
    assert.doesNotThrow(() => new Sub());
  });
});
