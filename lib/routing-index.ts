import { formatIdentifier, type Identifier, isWildcard, MAX_CACHED_IDENTIFIER_LENGTH, parseIdentifier, partMatches, WILDCARD } from "./identifier.js";

/** What the index holds: anything with a pattern (its canonical id) and a registration sequence number. */
export interface Routable {
  readonly seq: number;
  /** The canonical id of the pattern it follows (`Identifier.id`). */
  readonly key: string;
}

const CACHE_LIMIT = 10_000;
const NONE: readonly never[] = Object.freeze([]);

/**
 * Routes identifiers to entries. Entries are grouped by exact pattern, so a concrete `n:a` needs at most
 * four look-ups (`n:a`, `n:*`, `*:a`, `*:*`, all in the identifier's namespace) however many unrelated
 * patterns exist; the merged list, in registration order, is cached per identifier until the next change.
 * A pattern with one entry maps to the entry itself (no array): most patterns have one follower, and a
 * follower then costs one map slot and its entry.
 */
export class RoutingIndex<T extends Routable> {
  readonly #byPattern = new Map<string, T | T[]>();
  readonly #cache = new Map<string, readonly T[]>();
  #size = 0;
  #version = 0;

  /** Changes on every add and remove: a list from `lookup` is current while the version is unchanged. */
  get version(): number {
    return this.#version;
  }

  /** Number of entries. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds an entry; it is routed after every entry added before it.
   * @returns whether its pattern is new to the index (no entry had it before).
   */
  add(entry: T): boolean {
    const found = this.#byPattern.get(entry.key);
    if (found === undefined) this.#byPattern.set(entry.key, entry);
    else if (Array.isArray(found)) found.push(entry);
    else this.#byPattern.set(entry.key, [found, entry]);
    this.#size++;
    this.#changed();
    return found === undefined;
  }

  /**
   * Removes an entry.
   * @returns `false` if it was not there, `"last"` if it was the last entry with its pattern, else `true`.
   */
  remove(entry: T): boolean | "last" {
    const found = this.#byPattern.get(entry.key);
    if (found === entry) {
      this.#byPattern.delete(entry.key);
      this.#size--;
      this.#changed();
      return "last";
    }
    const at = Array.isArray(found) ? found.indexOf(entry) : -1;
    if (at === -1) return false;
    const list = found as T[];
    list.splice(at, 1);
    if (list.length === 1) this.#byPattern.set(entry.key, list[0] as T);
    this.#size--;
    this.#changed();
    return true;
  }

  /** The distinct patterns of the entries, in no particular order. */
  patterns(): Identifier[] {
    return Array.from(this.#byPattern.keys(), (key) => parseIdentifier(key));
  }

  #changed(): void {
    this.#version++;
    this.#cache.clear();
  }

  /** Every entry, in registration order. */
  all(): T[] {
    const found: T[] = [];
    for (const entries of this.#byPattern.values()) pushEntries(found, entries);
    return sortBySeq(found);
  }

  /**
   * Entries whose pattern matches the identifier (symmetrically, within its namespace), in registration
   * order. Takes anything with a canonical `id` (an Identifier or a Message). Do not mutate.
   */
  lookup(target: { readonly id: string }): readonly T[] {
    const cached = this.#cache.get(target.id);
    if (cached !== undefined) return cached;
    const identifier = parseIdentifier(target.id);
    const found = isWildcard(identifier) ? this.#scan(identifier) : this.#probe(identifier);
    if (identifier.id.length > MAX_CACHED_IDENTIFIER_LENGTH) return found;
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(identifier.id, found);
    return found;
  }

  #probe({ name, action, namespace }: Identifier): readonly T[] {
    const found: T[] = [];
    const keys = [
      formatIdentifier(name, namespace, action),
      formatIdentifier(name, namespace, WILDCARD),
      formatIdentifier(WILDCARD, namespace, action),
      formatIdentifier(WILDCARD, namespace, WILDCARD),
    ];
    let groups = 0;
    for (const key of keys) {
      const entries = this.#byPattern.get(key);
      if (entries === undefined) continue;
      groups++;
      pushEntries(found, entries);
    }
    if (found.length === 0) return NONE;
    return groups === 1 ? found : sortBySeq(found);
  }

  // A sender wildcard may match any pattern: a full scan, acceptable for the rarer case.
  #scan({ name, action, namespace }: Identifier): readonly T[] {
    const found: T[] = [];
    for (const [key, entries] of this.#byPattern) {
      const pattern = parseIdentifier(key);
      if (pattern.namespace !== namespace) continue;
      if (partMatches(pattern.name, name) && partMatches(pattern.action, action)) pushEntries(found, entries);
    }
    return sortBySeq(found);
  }
}

// One pattern's entries (one entry, or several in registration order) appended to `found`.
function pushEntries<T>(found: T[], entries: T | T[]): void {
  if (Array.isArray(entries)) for (const entry of entries) found.push(entry);
  else found.push(entries);
}

function sortBySeq<T extends Routable>(entries: T[]): T[] {
  return entries.sort((a, b) => a.seq - b.seq);
}
