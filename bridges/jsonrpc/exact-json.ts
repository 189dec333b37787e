/** A decoded body, or why it was refused: not JSON at all, or a number JSON.parse would change. */
export type ExactJson = { ok: true; value: unknown } | { ok: false; parseError: boolean; message: string };

// Only a body holding a number token of 16 digits or more, or with a 3-digit exponent, can hold a
// number that parsing would change. A number token starts the text or follows `:`, `,`, `[` or white
// space; matching only there spares the full scan for bodies whose strings merely hold such runs (a
// UUID token often holds "e" and 3 digits, which sent every frame of a link the slow way).
const MAYBE_INEXACT = /(?:^|[:,[\s])-?(?:\d{16}|\d+(?:\.\d+)?[eE][+-]?\d{3})/;
// A literal that underflows to 0 has a negative exponent of 3 digits (matched above) or a fraction of 224
// zeros or more: the smallest double is 5e-324, and a 2-digit exponent takes off at most 99 places
// (`0.<230 zeros>1e-99` was missed with 300). Looked for from 200.
const MAYBE_UNDERFLOW = /\.0{200}/;

// Whether a body whose numbers include 0 (and none large) may hold a literal that underflowed. Many bodies
// hold a 0, and UUIDs often hold "e-": rather than a scan by regular expression, each "e-" found is looked
// at (a digit before it, three after it), and a run of zeros looked for.
function mayUnderflow(text: string): boolean {
  return (
    negativeExponent(text, "e-") || negativeExponent(text, "E-") || (text.includes(".0000000000") && MAYBE_UNDERFLOW.test(text))
  );
}

function negativeExponent(text: string, marker: string): boolean {
  for (let i = text.indexOf(marker); i >= 0; i = text.indexOf(marker, i + 2))
    if (isDigit(text, i - 1) && isDigit(text, i + 2) && isDigit(text, i + 3) && isDigit(text, i + 4)) return true;
  return false;
}

function isDigit(text: string, at: number): boolean {
  const code = text.charCodeAt(at);
  return code >= 48 && code <= 57;
}

const NON_JSON_NUMBER = /(?:^|[^\w$"])-?(?:NaN|Infinity)(?![\w$])/;

/**
 * Parses a request body and refuses to change a value silently: an integer beyond 2⁵³ that a double
 * cannot hold exactly, a literal that overflows to Infinity or a non-zero one that underflows to 0, or
 * Python's `NaN`/`Infinity` (which its `json` module writes) are refused with a message naming them,
 * never rounded or turned into null.
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
  const suspect = suspects(value, 0);
  if (suspect !== 0 && (suspect === LARGE ? MAYBE_INEXACT.test(text) || MAYBE_UNDERFLOW.test(text) : mayUnderflow(text))) {
    const inexact = inexactNumber(text);
    if (inexact !== undefined) return { ok: false, parseError: false, message: inexact };
  }
  return { ok: true, value };
}

// Values nested deeper than this are not walked: the text is scanned instead.
const WALK_DEPTH = 64;

// What the walk found: LARGE, a number whose magnitude is 10^15 or more (an integer literal of 16 digits
// or more, whatever rounding did to it; JSON allows no leading zeros) or infinite (a literal that
// overflowed), or values too deep to walk; ZERO, only zeros among the other numbers (a literal that
// underflowed is one); else none: no number of the body can come from a literal that parsing changed.
const ZERO = 1;
const LARGE = 2;

function suspects(value: unknown, depth: number): number {
  if (typeof value === "number") return value < 1e15 && value > -1e15 ? (value === 0 ? ZERO : 0) : LARGE;
  if (typeof value !== "object" || value === null) return 0;
  if (depth >= WALK_DEPTH) return LARGE;
  let found = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      found |= suspects(value[i], depth + 1);
      if (found >= LARGE) return LARGE;
    }
    return found;
  }
  // JSON.parse makes plain objects with own enumerable properties only (a "__proto__" key included).
  const object = value as Record<string, unknown>;
  for (const key in object) {
    found |= suspects(object[key], depth + 1);
    if (found >= LARGE) return LARGE;
  }
  return found;
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
    // A non-zero digit before the exponent, yet 0: below the smallest double (5e-324).
    if (number === 0 && /[1-9]/.test(match[2] === undefined ? literal : literal.slice(0, -match[2].length)))
      return `invalid number ${literal.slice(0, 40)}: too small for a double (it would become 0); send it as a string`;
    if (match[1] === undefined && match[2] === undefined && literal.length >= 16 && BigInt(literal) !== BigInt(number)) {
      return `invalid number ${literal.slice(0, 40)}: an integer beyond 2^53 that would lose precision; send it as a string`;
    }
  }
  return undefined;
}
