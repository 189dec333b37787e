/** A decoded body, or why it was refused: not JSON at all, or a number JSON.parse would change. */
export type ExactJson = { ok: true; value: unknown } | { ok: false; parseError: boolean; message: string };

// Only a body holding a number token of 16 digits or more, or with a 3-digit exponent, can hold a
// number that parsing would change. A number token starts the text or follows `:`, `,`, `[` or white
// space; matching only there spares the full scan for bodies whose strings merely hold such runs (a
// UUID token often holds "e" and 3 digits, which sent every frame of a link the slow way).
const MAYBE_INEXACT = /(?:^|[:,[\s])-?(?:\d{16}|\d+(?:\.\d+)?[eE][+-]?\d{3})/;
const NON_JSON_NUMBER = /(?:^|[^\w$"])-?(?:NaN|Infinity)(?![\w$])/;

/**
 * Parses a request body and refuses to change a value silently: an integer beyond 2⁵³ that a double
 * cannot hold exactly, a literal that overflows to Infinity, or Python's `NaN`/`Infinity` (which its
 * `json` module writes) are refused with a message naming them, never rounded or turned into null.
 */
export function parseExactJson(text: string): ExactJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const nonJson = NON_JSON_NUMBER.exec(outsideStrings(text));
    if (nonJson !== null) {
      const literal = nonJson[0].replace(/^[^-NI]/, "");
      return {
        ok: false,
        parseError: true,
        message: `parse error: ${literal} is not a JSON number: berrymq carries only finite numbers (send it as a string)`,
      };
    }
    return { ok: false, parseError: true, message: `parse error: ${error instanceof Error ? error.message : "malformed JSON"}` };
  }
  // Most bodies hold no number JSON.parse could have changed: a walk of the numbers it made says so at
  // about a third of the cost of scanning the text; only the rest are scanned.
  if (mayHoldInexact(value, 0) && MAYBE_INEXACT.test(text)) {
    const inexact = inexactNumber(text);
    if (inexact !== undefined) return { ok: false, parseError: false, message: inexact };
  }
  return { ok: true, value };
}

// Values nested deeper than this are not walked: the text is scanned instead.
const WALK_DEPTH = 64;

// Only a number whose magnitude is 10^15 or more (an integer literal of 16 digits or more, whatever
// rounding did to it; JSON allows no leading zeros) or infinite (a literal that overflowed) can come
// from a literal that parsing changed.
function mayHoldInexact(value: unknown, depth: number): boolean {
  if (typeof value === "number") return !(value < 1e15 && value > -1e15);
  if (typeof value !== "object" || value === null) return false;
  if (depth >= WALK_DEPTH) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (mayHoldInexact(value[i], depth + 1)) return true;
    return false;
  }
  // JSON.parse makes plain objects with own enumerable properties only (a "__proto__" key included).
  const object = value as Record<string, unknown>;
  for (const key in object) if (mayHoldInexact(object[key], depth + 1)) return true;
  return false;
}

// The text with every string literal blanked out (same length), so tokens inside strings are ignored.
function outsideStrings(text: string): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 34) continue;
    out += text.slice(start, i);
    let j = i + 1;
    while (j < text.length && text.charCodeAt(j) !== 34) j += text.charCodeAt(j) === 92 ? 2 : 1;
    out += " ".repeat(Math.min(j, text.length) - i + 1);
    i = j;
    start = j + 1;
  }
  return out + text.slice(start);
}

const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/g;

function inexactNumber(text: string): string | undefined {
  const bare = outsideStrings(text);
  NUMBER.lastIndex = 0;
  for (let match = NUMBER.exec(bare); match !== null; match = NUMBER.exec(bare)) {
    const literal = match[0];
    const number = Number(literal);
    if (!Number.isFinite(number))
      return `invalid number ${literal.slice(0, 40)}: beyond what a double holds (it would become Infinity)`;
    if (match[1] === undefined && match[2] === undefined && literal.length >= 16 && BigInt(literal) !== BigInt(number)) {
      return `invalid number ${literal.slice(0, 40)}: an integer beyond 2^53 that would lose precision; send it as a string`;
    }
  }
  return undefined;
}
