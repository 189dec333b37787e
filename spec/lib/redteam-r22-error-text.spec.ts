// Red team r22: error messages quote the offending value (describe()), and JSON.stringify leaves DEL, C1
// controls (U+009B is a terminal's CSI), bidi overrides and line separators raw: a hostile identifier or
// option reached a log or terminal able to recolour or reorder it. They are escaped as \uXXXX now.
import assert from "node:assert/strict";
import { describe as suite, it } from "node:test";
import { BerryError, describe, InvalidArgumentError } from "../../lib/errors.js";
import { parseIdentifier } from "../../lib/identifier.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

suite("red team r22: error messages escape what terminals act on", () => {
  it("an identifier with C1, DEL and a bidi override is refused with a message that holds none of them raw", () => {
    const hostile = "a\u009b31mred\u007f\u202egnp.exe:b";
    assert.throws(
      () => parseIdentifier(hostile),
      (error: Error) => !RAW.test(error.message) && error.message.includes("\\u009b31mred\\u007f\\u202egnp.exe"),
    );
  });

  it("options, symbols and function names are escaped too; printable text is unchanged", () => {
    const error = new InvalidArgumentError("timeout", "\u2028\u0085x", "a number");
    assert.ok(!RAW.test(error.message), error.message);
    assert.equal(describe(Symbol("\u001b[2Jcleared")), "Symbol(\\u001b[2Jcleared)");
    const named = Object.defineProperty(() => 1, "name", { value: "\u009b0m" });
    assert.equal(describe(named), "function \\u009b0m");
    assert.equal(describe("plain é ü 漢字 🙂"), '"plain é ü 漢字 🙂"');
    assert.equal(describe({ a: [1, "b"] }), '{"a":[1,"b"]}');
  });

  it("every BerryError's message is escaped, whatever built it (found in review: an RPC login's user name went raw into RpcAuthError)", () => {
    const error = new BerryError("X", "user \u001b]0;owned\u0007\u009b2J\u202eevil refused\nforged line");
    assert.ok(!RAW.test(error.message), error.message);
    assert.equal(error.message, "user \\u001b]0;owned\\u0007\\u009b2J\\u202eevil refused\\u000aforged line");
    assert.equal(new BerryError("X", "plain é 漢字").message, "plain é 漢字");
  });
});
