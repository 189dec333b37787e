// parseExactJson, the one check of HTTP bodies and link-stream frames: its walk of parsed numbers must give
// the verdict the scan of the text gives, at the edges of the walk (10^15, depth 64) and on random bodies.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseExactJson } from "../../../bridges/jsonrpc/exact-json.js";

const PRECISION = /^invalid number .*: an integer beyond 2\^53 that would lose precision; send it as a string$/;
const OVERFLOW = /^invalid number .*: beyond what a double holds \(it would become Infinity\)$/;

function nested(depth: number, inner: string): string {
  return "[".repeat(depth) + inner + "]".repeat(depth);
}

describe("parseExactJson", () => {
  it("accepts numbers a double holds exactly, at and around 10^15", () => {
    for (const text of [
      "999999999999999",
      "-999999999999999",
      "1000000000000000",
      "-1000000000000000",
      "9007199254740992",
      "1e15",
      "1.5e300",
      "-0",
    ]) {
      const parsed = parseExactJson(`{"n":${text}}`);
      assert.equal(parsed.ok, true, text);
      assert.deepEqual(parsed.ok && parsed.value, { n: Number(text) }, text);
    }
  });

  it("refuses an integer beyond 2^53 and an overflowing literal, shallow or nested past the walk", () => {
    for (const depth of [0, 1, 63, 64, 65, 200]) {
      const big = parseExactJson(nested(depth, '{"id":9007199254740993}'));
      assert.equal(big.ok, false);
      assert.match(!big.ok ? big.message : "", PRECISION);
      assert.equal(!big.ok && big.parseError, false);
      const huge = parseExactJson(nested(depth, "-1e400"));
      assert.equal(huge.ok, false);
      assert.match(!huge.ok ? huge.message : "", OVERFLOW);
    }
  });

  it("accepts deep values whose only long digit runs are inside strings", () => {
    const parsed = parseExactJson(nested(100, '{"k":"9007199254740993","e":"1e400"}'));
    assert.equal(parsed.ok, true);
  });

  it("names NaN and Infinity as parse errors, and other malformed JSON as JSON.parse does", () => {
    const nan = parseExactJson('{"x":NaN}');
    assert.equal(!nan.ok && nan.parseError, true);
    assert.match(!nan.ok ? nan.message : "", /^parse error: NaN is not a JSON number/);
    const bad = parseExactJson('{"x":');
    assert.equal(!bad.ok && bad.parseError, true);
    assert.match(!bad.ok ? bad.message : "", /^parse error: /);
  });

  it("on random bodies, refuses exactly those holding a changed literal outside strings", () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    // [literal, whether parsing changes it]
    const literals: [string, boolean][] = [
      ["0", false],
      ["-12", false],
      ["3.25", false],
      ["123456789012345", false],
      ["1000000000000000", false],
      ["9007199254740992", false],
      ["9007199254740993", true],
      ["-12345678901234567", true],
      ["1e308", false],
      ["1e309", true],
      // Underflows to 0: refused since r26 (it was carried as 0).
      ["2.5E-400", true],
      ["5e-324", false],
      ["0e-400", false],
      ['"9007199254740993"', false],
      ['"1e999"', false],
    ];
    for (let round = 0; round < 2000; round++) {
      let changed = false;
      const value = (depth: number): string => {
        const kind = random(depth > 70 ? 1 : 4);
        if (kind === 0) {
          const [literal, alters] = literals[random(literals.length)] as [string, boolean];
          changed ||= alters;
          return literal;
        }
        const items = Array.from({ length: random(4) }, () => value(depth + 1 + random(20)));
        if (kind === 1) return `[${items.join(",")}]`;
        return `{${items.map((item, i) => `"k${i}":${item}`).join(",")}}`;
      };
      const text = value(0);
      const parsed = parseExactJson(text);
      if (parsed.ok) assert.deepEqual(parsed.value, JSON.parse(text));
      else assert.equal(parsed.parseError, false, parsed.message);
      assert.equal(parsed.ok, !changed, text);
    }
  });
});
