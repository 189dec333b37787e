// Red team r30: seeded fuzz of identifiers and patterns against a reference written here from the README
// (last ':' splits the action, the name's last '@' the namespace, '*' a whole-part wildcard, symmetric
// matching within one namespace). Routing goes through the index's four probes, its sender-wildcard scan
// and the bus's route cache, with followers added and removed between sends: every send must reach
// exactly the followers the reference names, in registration order, however the caches stood.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { InvalidIdentifierError } from "../../lib/errors.js";
import { matches, parseIdentifier } from "../../lib/identifier.js";
import { random } from "../helpers/seeded-random.js";

interface Parts {
  name: string;
  namespace: string;
  action: string;
}

// The README's rules, without the library's code: undefined for an identifier it calls invalid.
function reference(value: string): Parts | undefined {
  if (value.length === 0 || /[\s\p{Cc}\p{Cf}\p{Cs}]/u.test(value)) return undefined;
  const parts = value.split(":");
  const action = parts.length === 1 ? "*" : (parts.pop() as string);
  const qualified = parts.join(":");
  const at = qualified.split("@");
  const namespace = at.length === 1 ? "" : (at.pop() as string);
  const name = at.join("@");
  if (name === "" || action === "" || (qualified.includes("@") && namespace === "")) return undefined;
  if (namespace.includes("*")) return undefined;
  for (const part of [name, action]) if (part !== "*" && part.includes("*")) return undefined;
  return { name, namespace, action };
}

const wild = (a: string, b: string): boolean => a === b || a === "*" || b === "*";
const refMatches = (a: Parts, b: Parts): boolean =>
  a.namespace === b.namespace && wild(a.name, b.name) && wild(a.action, b.action);

const TOKENS = ["a", "b", "*", ":", "@", "_", "__proto__", "constructor", "é", "\u{1F600}", "\uD800", " ", "\u200b", "x", "ns"];

function randomIdentifier(next: () => number): string {
  const length = 1 + Math.floor(next() * 5);
  let text = "";
  for (let i = 0; i < length; i++) text += TOKENS[Math.floor(next() * TOKENS.length)];
  return text;
}

describe("red team r30: identifiers fuzzed against a reference", () => {
  it("parseIdentifier accepts exactly what the reference accepts, with the same parts, canonically", () => {
    for (const seed of [1, 2, 3]) {
      const next = random(seed);
      for (let i = 0; i < 20_000; i++) {
        const value = randomIdentifier(next);
        const expected = reference(value);
        let parsed: ReturnType<typeof parseIdentifier> | undefined;
        try {
          parsed = parseIdentifier(value);
        } catch (error) {
          assert.ok(error instanceof InvalidIdentifierError, `seed ${seed}: ${JSON.stringify(value)} threw ${String(error)}`);
        }
        const context = `seed ${seed}, ${JSON.stringify(value)}`;
        if (expected === undefined) {
          assert.equal(parsed, undefined, `${context}: accepted`);
          continue;
        }
        assert.ok(parsed !== undefined, `${context}: refused`);
        assert.deepEqual({ name: parsed.name, namespace: parsed.namespace, action: parsed.action }, expected, context);
        // Canonical: its id parses to itself.
        assert.deepEqual(parseIdentifier(parsed.id), parsed, `${context}: id ${JSON.stringify(parsed.id)} is canonical`);
        assert.deepEqual(reference(parsed.id), expected, context);
      }
    }
  });

  it("a bus delivers each send to exactly the matching followers, in registration order, as followers come and go", () => {
    for (const seed of [11, 12, 13, 14]) {
      const next = random(seed);
      const valid: string[] = [];
      while (valid.length < 60) {
        const value = randomIdentifier(next);
        if (reference(value) !== undefined) valid.push(value);
      }
      const bus = new Bus();
      // Registration order, with each live follower's pattern and unsubscribe.
      const live: { tag: number; pattern: string; stop: () => boolean }[] = [];
      let heard: number[] = [];
      let tags = 0;
      for (let step = 0; step < 3_000; step++) {
        const roll = next();
        const pick = valid[Math.floor(next() * valid.length)] as string;
        if (roll < 0.2 || live.length === 0) {
          const tag = tags++;
          live.push({ tag, pattern: pick, stop: bus.follow(pick, () => void heard.push(tag)) });
        } else if (roll < 0.3) {
          const [gone] = live.splice(Math.floor(next() * live.length), 1);
          assert.equal(gone?.stop(), true);
        } else {
          heard = [];
          const sent = reference(pick) as Parts;
          const expected = live.filter((f) => refMatches(reference(f.pattern) as Parts, sent)).map((f) => f.tag);
          const reached = bus.twitter(pick);
          assert.deepEqual(heard, expected, `seed ${seed}, step ${step}: twitter(${JSON.stringify(pick)})`);
          assert.equal(reached, expected.length);
          for (const f of live.slice(0, 3))
            assert.equal(matches(f.pattern, pick), refMatches(reference(f.pattern) as Parts, sent));
        }
      }
      assert.equal(bus.size, live.length);
      bus.close();
    }
  });
});
