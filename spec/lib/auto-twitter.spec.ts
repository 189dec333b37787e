import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { autoTwitter, Bus, type Message } from "../../lib/index.js";
import { sleep } from "../helpers/wait-for.js";

function record(bus: Bus, pattern: string): Message[] {
  const got: Message[] = [];
  bus.follow(pattern, (m) => void got.push(m));
  return got;
}

describe("autoTwitter", () => {
  it("sends name:entry with the arguments and name:exit with the result", () => {
    const bus = new Bus();
    const got = record(bus, "save:*");
    const save = autoTwitter("save", { bus })((doc: string) => doc.length);
    assert.equal(save("hello"), 5);
    assert.deepEqual(
      got.map((m) => [m.id, m.args]),
      [
        ["save:entry", ["hello"]],
        ["save:exit", [5]],
      ],
    );
  });

  it("awaits an async function before sending exit", async () => {
    const bus = new Bus();
    const got = record(bus, "load:*");
    const load = autoTwitter("load", { bus })(async (n: number) => {
      await sleep(5);
      return n * 2;
    });
    const pending = load(21);
    assert.deepEqual(got.map((m) => m.id), ["load:entry"]);
    assert.equal(await pending, 42);
    assert.deepEqual(got.map((m) => [m.id, m.args]), [["load:entry", [21]], ["load:exit", [42]]]);
  });

  it("sends name:error and rethrows when the call fails", async () => {
    const bus = new Bus();
    const got = record(bus, "risky:*");
    const risky = autoTwitter("risky", { bus })(() => {
      throw new Error("nope");
    });
    assert.throws(() => risky(), /nope/);
    const rejects = autoTwitter("risky", { bus, entry: false })(async () => Promise.reject(new Error("later")));
    await assert.rejects(rejects(), /later/);
    assert.deepEqual(got.map((m) => m.id), ["risky:entry", "risky:error", "risky:error"]);
    assert.match(String(got[1]?.args[0]), /nope/);
  });

  it("entry/exit options switch either message off", () => {
    const bus = new Bus();
    const got = record(bus, "f:*");
    autoTwitter("f", { bus, entry: false })(() => 1)();
    autoTwitter("f", { bus, exit: false })(() => 2)();
    assert.deepEqual(got.map((m) => m.id), ["f:exit", "f:entry"]);
  });

  it("validates the name at once", () => {
    assert.throws(() => autoTwitter("bad name"), /invalid identifier "bad name:entry"/);
  });
});
