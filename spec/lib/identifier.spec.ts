import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describe as describeValue } from "../../lib/errors.js";
import { Bus, InvalidIdentifierError, matches, parseIdentifier } from "../../lib/index.js";

describe("identifiers", () => {
  it("parses name and action, the last ':' splitting", () => {
    assert.deepEqual({ ...parseIdentifier("worker:stop") }, { id: "worker:stop", name: "worker", action: "stop", namespace: "" });
    assert.deepEqual({ ...parseIdentifier("ns:worker:stop") }, { id: "ns:worker:stop", name: "ns:worker", action: "stop", namespace: "" });
    assert.deepEqual({ ...parseIdentifier("*:*") }, { id: "*:*", name: "*", action: "*", namespace: "" });
  });

  it('reads "test" as "test:*"', () => {
    assert.deepEqual({ ...parseIdentifier("test") }, { id: "test:*", name: "test", action: "*", namespace: "" });
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
    ["a\u200b:b", /invisible format/],
    ["a:\u2060b", /invisible format/],
    ["a\u00ad:b", /invisible format/],
    ["a\u180e:b", /invisible format/],
    ["\ufeffa:b", /invisible format/],
    ["a\u200d:b", /invisible format/],
    ["a\u202e:b", /invisible format/],
    ["a\ud800:b", /lone surrogates/],
    ["a:\udfff", /lone surrogates/],
    ["@ns:b", /name .* is empty/],
    ["a@:b", /namespace .* is empty/],
    ["a@*:b", /namespace cannot be a wildcard/],
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
          // Quoted as describe() renders it: JSON, with what terminals act on escaped (redteam-r22-error-text).
          assert.ok(error.message.includes(describeValue(value).slice(0, 20)), error.message);
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

describe("invisible characters", () => {
  it('"a\u200b:b" neither passes for "a:b" nor ever reaches its followers', () => {
    const bus = new Bus();
    let reached = 0;
    bus.follow("a:b", () => void reached++);
    for (const sneaky of ["a\u200b:b", "a\u2060:b", "a\u00ad:b", "a\u180e:b", "\ufeffa:b"]) {
      assert.throws(() => bus.twitter(sneaky), InvalidIdentifierError, JSON.stringify(sneaky));
      assert.throws(() => bus.follow(sneaky, () => {}), InvalidIdentifierError);
      assert.throws(() => matches(sneaky, "a:b"), InvalidIdentifierError);
    }
    assert.equal(reached, 0);
  });
});

describe("namespaces (berryMQ 0.3's name@ns:action)", () => {
  it("parses the namespace into the identifier and keeps the canonical id round-trippable", () => {
    assert.deepEqual({ ...parseIdentifier("x@layer:entry") }, { id: "x@layer:entry", name: "x", action: "entry", namespace: "layer" });
    assert.deepEqual({ ...parseIdentifier("x@layer") }, { id: "x@layer:*", name: "x", action: "*", namespace: "layer" });
    assert.deepEqual({ ...parseIdentifier("*@layer:entry") }, { id: "*@layer:entry", name: "*", action: "entry", namespace: "layer" });
    assert.equal(parseIdentifier("a@b@c:d").name, "a@b", "the name's last '@' splits");
    for (const id of ["x@layer:entry", "*@layer:*", "a@b@c:d"]) assert.equal(parseIdentifier(parseIdentifier(id).id).id, parseIdentifier(id).id);
  });

  it('"*@layer:entry" follows "x@layer:entry"; neither reaches nor hears the default namespace', () => {
    const bus = new Bus();
    const got: string[] = [];
    bus.follow("*@layer:entry", (m) => void got.push(`layer ${m.id}`));
    bus.follow("*:*", (m) => void got.push(`default ${m.id}`));
    bus.follow("x:entry", (m) => void got.push(`default-x ${m.id}`));
    assert.equal(bus.twitter("x@layer:entry"), 1);
    assert.equal(bus.twitter("x:entry"), 2);
    assert.equal(bus.twitter("x@other:entry"), 0);
    assert.equal(bus.twitter("*:*"), 2, "a sender's wildcard scans its own namespace only");
    assert.equal(bus.twitter("*@layer:*"), 1);
    assert.deepEqual(got, [
      "layer x@layer:entry",
      "default x:entry",
      "default-x x:entry",
      "default *:*",
      "default-x *:*",
      "layer *@layer:*",
    ]);
    assert.equal(matches("*@layer:entry", "x@layer:entry"), true);
    assert.equal(matches("*@layer:entry", "x:entry"), false);
    assert.equal(matches("*:*", "x@layer:entry"), false);
  });

  it("queues and namespaced followers see message.name without the namespace, message.id with it", () => {
    const bus = new Bus();
    const seen: [string, string][] = [];
    bus.follow("job@batch:*", (m) => void seen.push([m.id, m.name]));
    bus.twitter("job@batch:run");
    assert.deepEqual(seen, [["job@batch:run", "job"]]);
  });
});

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
