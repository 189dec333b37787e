import { InvalidIdentifierError } from "./errors.js";

/** The wildcard that matches any name or any action. */
export const WILDCARD = "*";

/** A parsed `"name:action"` identifier; `id` is the canonical string (`"test"` becomes `"test:*"`). */
export interface Identifier {
  readonly id: string;
  readonly name: string;
  readonly action: string;
}

// Whitespace and C0/C1 control characters are never part of an identifier.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const FORBIDDEN = /[\s\u0000-\u001f\u007f-\u009f]/u;
const CACHE_LIMIT = 10_000;
const cache = new Map<string, Identifier>();

/**
 * Parses and validates an identifier. The last `:` splits name from action; no `:` means action `*`.
 * @throws InvalidIdentifierError naming the value when it is not a usable identifier.
 * @example parseIdentifier("test") // { id: "test:*", name: "test", action: "*" }
 */
export function parseIdentifier(value: unknown): Identifier {
  if (typeof value !== "string") throw new InvalidIdentifierError(value, "must be a string");
  const cached = cache.get(value);
  if (cached !== undefined) return cached;
  const parsed = parseUncached(value);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(value, parsed);
  return parsed;
}

function parseUncached(value: string): Identifier {
  if (value.length === 0) throw new InvalidIdentifierError(value, "must not be empty");
  if (FORBIDDEN.test(value)) {
    throw new InvalidIdentifierError(value, "must not contain whitespace or control characters");
  }
  const colon = value.lastIndexOf(":");
  const name = colon === -1 ? value : value.slice(0, colon);
  const action = colon === -1 ? WILDCARD : value.slice(colon + 1);
  if (name.length === 0) throw new InvalidIdentifierError(value, "name (before the last ':') is empty");
  if (action.length === 0) throw new InvalidIdentifierError(value, "action (after the last ':') is empty");
  checkWildcardPart(value, "name", name);
  checkWildcardPart(value, "action", action);
  return Object.freeze({ id: `${name}:${action}`, name, action });
}

// "*" is a whole-part wildcard; "ab*" would read like a glob we do not implement, so it is refused.
function checkWildcardPart(value: string, part: string, text: string): void {
  if (text !== WILDCARD && text.includes(WILDCARD)) {
    throw new InvalidIdentifierError(value, `'*' in the ${part} must stand alone ("${text}")`);
  }
}

/** Whether one part (name or action) of two identifiers match: equal, or either is `*`. */
export function partMatches(a: string, b: string): boolean {
  return a === b || a === WILDCARD || b === WILDCARD;
}

/**
 * Symmetric match, as in berryMQ 0.3: a wildcard on either side matches anything on the other.
 * @example matches("worker:stop", "*:stop") // true
 */
export function matches(a: Identifier | string, b: Identifier | string): boolean {
  const x = typeof a === "string" ? parseIdentifier(a) : a;
  const y = typeof b === "string" ? parseIdentifier(b) : b;
  return partMatches(x.name, y.name) && partMatches(x.action, y.action);
}

/** Whether an identifier has a wildcard on either part. */
export function isWildcard(identifier: Identifier): boolean {
  return identifier.name === WILDCARD || identifier.action === WILDCARD;
}
