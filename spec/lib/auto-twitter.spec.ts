import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { autoTwitter, Bus, type Kwargs, kw, type Message } from "../../lib/index.js";
import { sleep } from "../helpers/wait-for.js";

function record(bus: Bus, pattern: string): Message[] {
  const got: Message[] = [];
  bus.follow(pattern, (m) => void got.push(m));
  return got;
}

describe("autoTwitter", () => {
  it("sends name:entry and name:exit with the call's arguments (as 0.3), the result as kwargs.result", () => {
    const bus = new Bus();
    const got = record(bus, "save:*");
    const save = autoTwitter("save", { bus })((doc: string, n: number) => doc.length + n);
    assert.equal(save("hello", 1), 6);
    assert.deepEqual(
      got.map((m) => [m.id, m.args, m.kwargs]),
      [
        ["save:entry", ["hello", 1], {}],
        ["save:exit", ["hello", 1], { result: 6 }],
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
    assert.deepEqual(got.map((m) => [m.id, m.args, m.kwargs]), [["load:entry", [21], {}], ["load:exit", [21], { result: 42 }]]);
  });

  it("sends name:error and rethrows when the call fails", async () => {
    const bus = new Bus();
    const got = record(bus, "risky:*");
    const risky = autoTwitter("risky", { bus })(() => {
      throw new Error("nope");
    });
    assert.throws(() => risky(), /nope/);
    const rejects = autoTwitter("risky:exit", { bus })(async () => Promise.reject(new Error("later")));
    await assert.rejects(rejects(), /later/);
    assert.deepEqual(got.map((m) => m.id), ["risky:entry", "risky:error", "risky:error"]);
    assert.match(String(got[1]?.args[0]), /nope/);
  });

  it("takes berryMQ 0.3's forms with 0.3's meaning", () => {
    const bus = new Bus();
    const got = record(bus, "f:*");
    const cases: [string, Parameters<typeof autoTwitter>[1], string[]][] = [
      ["f:entry", {}, ["f:entry"]],
      ["f:exit", {}, ["f:exit"]],
      ["f", { entry: true }, ["f:entry"]],
      ["f", { exit: true }, ["f:exit"]],
      ["f", {}, ["f:entry", "f:exit"]],
      ["f", { entry: true, exit: true }, ["f:entry", "f:exit"]],
      ["f", { entry: false, exit: false }, ["f:entry", "f:exit"]],
      ["f:entry", { entry: true }, ["f:entry"]],
    ];
    for (const [identifier, options, expected] of cases) {
      got.length = 0;
      autoTwitter(identifier, { ...options, bus })(() => 1)();
      assert.deepEqual(got.map((m) => m.id), expected, `${identifier} ${JSON.stringify(options)}`);
    }
  });

  it("keeps the namespace: autoTwitter(\"s@ns\") sends s@ns:entry and s@ns:exit", () => {
    const bus = new Bus();
    const inside = record(bus, "*@ns:*");
    const outside = record(bus, "*:*");
    autoTwitter("s@ns", { bus })(() => 1)();
    assert.deepEqual(inside.map((m) => m.id), ["s@ns:entry", "s@ns:exit"]);
    assert.deepEqual(outside, []);
  });

  it("refuses contradictory or unknown forms, naming them", () => {
    assert.throws(() => autoTwitter("f:entry", { exit: true }), /autoTwitter identifier "f:entry"/);
    assert.throws(() => autoTwitter("f:run"), /invalid autoTwitter identifier "f:run"/);
    // @ts-expect-error a string where a boolean belongs
    assert.throws(() => autoTwitter("f", { entry: "yes" }), /autoTwitter option entry "yes"/);
  });

  it("a trailing kw() of the call is the kwargs of both messages; exit adds result to it", () => {
    const bus = new Bus();
    const got = record(bus, "opt:*");
    const f = autoTwitter("opt", { bus })((n: number, _options?: Kwargs) => n + 1);
    assert.equal(f(1, kw({ fast: true })), 2);
    assert.deepEqual(got.map((m) => [m.id, m.args, m.kwargs]), [["opt:entry", [1], { fast: true }], ["opt:exit", [1], { fast: true, result: 2 }]]);
  });

  it("validates the name at once", () => {
    assert.throws(() => autoTwitter("bad name"), /invalid identifier "bad name"/);
  });
});
