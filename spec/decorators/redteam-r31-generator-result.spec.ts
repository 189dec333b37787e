// r31 (the review's last "not fixed"): a `@following` method replaced by a generator after registration
// checked it (an instance field set later, or a getter's value, as a legacy `@autobind` leaves) was called
// with each message, returned an iterator nobody read, and every message was lost without a word. It is
// reported per message now (a FollowerError whose cause names the method and the generator). Compiled in
// both decorator modes like decorators.spec.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, Follower, FollowerError, following, type Message } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";

describe(`r31 a follower method that turns out to be a generator (${mode} decorators)`, () => {
  it("is reported for each message, naming the method; the other followers still run", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const reports: Error[] = [];
    bus.on("error", (error) => reports.push(error));
    @Follower({ bus })
    class Worker {
      @following("job:*")
      run(_message: Message): void {}
    }
    const worker = new Worker();
    // Replaced after registration: an instance field, as a class field initialised later would be.
    Object.defineProperty(worker, "run", { value: function* run() {}, configurable: true });
    const ran: string[] = [];
    bus.follow("job:*", (message) => void ran.push(message.id));
    bus.twitter("job:a");
    bus.twitter("job:b");
    assert.deepEqual(ran, ["job:a", "job:b"]);
    assert.equal(reports.length, 2, reports.map((error) => error.message).join("; "));
    for (const report of reports) {
      assert.ok(report instanceof FollowerError);
      assert.match(String((report as FollowerError).cause), /Worker\.run[\s\S]*generator/);
    }
  });
});
