import { InvalidIdentifierError } from "./errors.js";

/** The wildcard that matches any name or any action. */
export const WILDCARD = "*";

/** The namespace of an identifier written without `@ns`. */
export const DEFAULT_NAMESPACE = "";

/**
 * A parsed `"name@namespace:action"` identifier; `id` is the canonical string (`"test"` becomes
 * `"test:*"`, `"x@ns"` becomes `"x@ns:*"`). Routing never crosses namespaces.
 */
export interface Identifier {
  readonly id: string;
  readonly name: string;
  readonly action: string;
  /** `""` for the default namespace, else the part after the name's last `@`. */
  readonly namespace: string;
}

// Whitespace, C0/C1 control characters, invisible format characters (Unicode Cf: U+200B, U+2060,
// U+00AD, U+180E, U+FEFF, bidi marks, ...) and lone surrogates (Cs) are never part of an identifier:
// "a\u200b:b" must not pass for "a:b".
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const FORBIDDEN = /[\s\u0000-\u001f\u007f-\u009f\p{Cf}\p{Cs}]/u;
const CACHE_LIMIT = 10_000;
/**
 * Longest identifier the caches keyed by identifier keep (characters; a link's envelopes allow no longer
 * ones). Bounded in entries alone, a cache kept 10,000 identifiers of any length: a ZeroMQ broker routing
 * 100 distinct 1 MB identifiers kept 100 MB, 10 GB at the bound. A longer one is parsed and routed anew.
 */
export const MAX_CACHED_IDENTIFIER_LENGTH = 1_024;
const cache = new Map<string, Identifier>();

/**
 * Parses and validates an identifier. The last `:` splits name from action (no `:` means action `*`);
 * the name's last `@` splits off a namespace (berryMQ 0.3's `"name@ns:action"`).
 * @throws InvalidIdentifierError naming the value when it is not a usable identifier.
 * @example parseIdentifier("test") // { id: "test:*", name: "test", action: "*", namespace: "" }
 */
export function parseIdentifier(value: unknown): Identifier {
  if (typeof value !== "string") throw new InvalidIdentifierError(value, "must be a string");
  const cached = cache.get(value);
  if (cached !== undefined) return cached;
  const parsed = parseUncached(value);
  if (value.length > MAX_CACHED_IDENTIFIER_LENGTH) return parsed;
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(value, parsed);
  return parsed;
}

function parseUncached(value: string): Identifier {
  if (value.length === 0) throw new InvalidIdentifierError(value, "must not be empty");
  if (FORBIDDEN.test(value)) {
    throw new InvalidIdentifierError(
      value,
      "must not contain whitespace, control or invisible format characters, or lone surrogates",
    );
  }
  const colon = value.lastIndexOf(":");
  const qualified = colon === -1 ? value : value.slice(0, colon);
  const action = colon === -1 ? WILDCARD : value.slice(colon + 1);
  const at = qualified.lastIndexOf("@");
  const name = at === -1 ? qualified : qualified.slice(0, at);
  const namespace = at === -1 ? DEFAULT_NAMESPACE : qualified.slice(at + 1);
  if (name.length === 0) throw new InvalidIdentifierError(value, "name (before the last ':') is empty");
  if (action.length === 0) throw new InvalidIdentifierError(value, "action (after the last ':') is empty");
  if (at !== -1 && namespace.length === 0) throw new InvalidIdentifierError(value, "namespace (after '@') is empty");
  if (namespace.includes(WILDCARD)) {
    throw new InvalidIdentifierError(value, `the namespace cannot be a wildcard ("${namespace}")`);
  }
  checkWildcardPart(value, "name", name);
  checkWildcardPart(value, "action", action);
  return Object.freeze({ id: formatIdentifier(name, namespace, action), name, action, namespace });
}

/** The canonical string of an identifier's parts: `name:action`, or `name@namespace:action`. */
export function formatIdentifier(name: string, namespace: string, action: string): string {
  return namespace === DEFAULT_NAMESPACE ? `${name}:${action}` : `${name}@${namespace}:${action}`;
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
 * Symmetric match, as in berryMQ 0.3: a wildcard on either side matches anything on the other, within
 * one namespace (`"*@ns:go"` matches `"x@ns:go"`, never `"x:go"`).
 * @example matches("worker:stop", "*:stop") // true
 */
export function matches(a: Identifier | string, b: Identifier | string): boolean {
  const x = typeof a === "string" ? parseIdentifier(a) : checkParsed(a);
  const y = typeof b === "string" ? parseIdentifier(b) : checkParsed(b);
  return x.namespace === y.namespace && partMatches(x.name, y.name) && partMatches(x.action, y.action);
}

// What `matches` takes besides a string: anything else (a number, an array, `null`) matched nothing
// without a word, or threw a TypeError naming no value.
function checkParsed(value: unknown): Identifier {
  if (typeof value === "object" && value !== null && hasParts(value as Partial<Record<keyof Identifier, unknown>>)) {
    return value as Identifier;
  }
  throw new InvalidIdentifierError(value, "must be a string or a parsed Identifier ({ id, name, action, namespace })");
}

function hasParts(parts: Partial<Record<keyof Identifier, unknown>>): boolean {
  try {
    return typeof parts.name === "string" && typeof parts.action === "string" && typeof parts.namespace === "string";
  } catch {
    return false; // a Proxy's trap, a throwing getter: no identifier
  }
}

/** Whether an identifier has a wildcard on either part. */
export function isWildcard(identifier: Pick<Identifier, "name" | "action">): boolean {
  return identifier.name === WILDCARD || identifier.action === WILDCARD;
}

/** Whether an identifier is local to its process (its name starts with `_`): links never export it. */
export function isLocal(identifier: Pick<Identifier, "name">): boolean {
  return identifier.name.startsWith("_");
}
