import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, InvalidIdentifierError, matches, parseIdentifier } from "../../lib/index.js";

describe("identifiers", () => {
  it("parses name and action, the last ':' splitting", () => {
    assert.deepEqual({ ...parseIdentifier("worker:stop") }, { id: "worker:stop", name: "worker", action: "stop" });
    assert.deepEqual({ ...parseIdentifier("ns:worker:stop") }, { id: "ns:worker:stop", name: "ns:worker", action: "stop" });
    assert.deepEqual({ ...parseIdentifier("*:*") }, { id: "*:*", name: "*", action: "*" });
  });

  it('reads "test" as "test:*"', () => {
    assert.deepEqual({ ...parseIdentifier("test") }, { id: "test:*", name: "test", action: "*" });
    const bus = new Bus();
    const got: string[] = [];
    bus.follow("test", (m) => void got.push(m.id));
    assert.equal(bus.twitter("test:run"), 1);
    assert.equal(bus.twitter("test:stop"), 1);
    assert.equal(bus.twitter("other:run"), 0);
    assert.deepEqual(got, ["test:run", "test:stop"]);
  });

  it("accepts names with any printable character but a lone-standing '*'", () => {
    for (const id of ["a.b/c:d", "über:ação", "a|b:c", "[x]?:y", "日本:語"]) {
      assert.equal(parseIdentifier(id).id, id);
    }
  });

  const invalid: [unknown, RegExp][] = [
    ["", /must not be empty/],
    [" ", /whitespace/],
    ["a b:c", /whitespace/],
    ["a:b\tc", /whitespace/],
    ["a\nb", /whitespace/],
    ["a\u0000b", /control/],
    ["a\u007f", /control/],
    [":", /name .* is empty/],
    [":b", /name .* is empty/],
    ["a:", /action .* is empty/],
    ["a*:b", /'\*' in the name must stand alone/],
    ["a:b*", /'\*' in the action must stand alone/],
    [42, /must be a string/],
    [null, /must be a string/],
    [undefined, /must be a string/],
    [{ id: "a:b" }, /must be a string/],
  ];
  for (const [value, reason] of invalid) {
    it(`refuses ${JSON.stringify(value) ?? String(value)} with a typed error naming it`, () => {
      assert.throws(
        () => parseIdentifier(value),
        (error: unknown) => {
          assert.ok(error instanceof InvalidIdentifierError);
          assert.equal(error.code, "INVALID_IDENTIFIER");
          assert.equal(error.value, value);
          assert.match(error.message, reason);
          assert.ok(error.message.includes(String(JSON.stringify(value) ?? value).slice(0, 20)), error.message);
          return true;
        },
      );
    });
  }

  it("refuses invalid identifiers at every entry point", async () => {
    const bus = new Bus();
    assert.throws(() => bus.twitter("bad id"), InvalidIdentifierError);
    assert.throws(() => bus.follow("", () => {}), InvalidIdentifierError);
    await assert.rejects(bus.talk("ok:id", "bad id"), InvalidIdentifierError);

  });
});

// Every combination of concrete/wildcard name/action on both sides. Senders are the columns; a row is one
// follower pattern; ✓ means the follower receives the message. Names n/m, actions a/b.
const SENDERS = ["n:a", "n:b", "m:a", "m:b", "n:*", "m:*", "*:a", "*:b", "*:*"] as const;
const TABLE: Record<string, string> = {
  //      n:a n:b m:a m:b n:* m:* *:a *:b *:*
  "n:a": "✓   ✗   ✗   ✗   ✓   ✗   ✓   ✗   ✓",
  "n:*": "✓   ✓   ✗   ✗   ✓   ✗   ✓   ✓   ✓",
  "*:a": "✓   ✗   ✓   ✗   ✓   ✓   ✓   ✗   ✓",
  "*:*": "✓   ✓   ✓   ✓   ✓   ✓   ✓   ✓   ✓",
  "m:b": "✗   ✗   ✗   ✓   ✗   ✓   ✗   ✓   ✓",
};

describe("matching table (symmetric, as berryMQ 0.3)", () => {
  for (const [pattern, row] of Object.entries(TABLE)) {
    const expected = row.split(/\s+/).map((mark) => mark === "✓");
    SENDERS.forEach((sender, column) => {
      const want = expected[column] as boolean;
      it(`follower "${pattern}" ${want ? "receives" : "does not receive"} "${sender}"`, () => {
        assert.equal(matches(pattern, sender), want, "matches()");
        assert.equal(matches(sender, pattern), want, "matches() is symmetric");
        const bus = new Bus();
        let received = 0;
        bus.follow(pattern, () => void received++);
        assert.equal(bus.twitter(sender), want ? 1 : 0, "twitter() count");
        assert.equal(received, want ? 1 : 0, "delivery");
      });
    });
  }
});
