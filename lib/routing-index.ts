import { formatIdentifier, type Identifier, isWildcard, MAX_CACHED_IDENTIFIER_LENGTH, parseIdentifier, partMatches, WILDCARD } from "./identifier.js";

/** What the index holds: anything with a pattern (its canonical id) and a registration sequence number. */
export interface Routable {
  readonly seq: number;
  /** The canonical id of the pattern it follows (`Identifier.id`). */
  readonly key: string;
}

const CACHE_LIMIT = 10_000;
const NONE: readonly never[] = Object.freeze([]);
// A pattern's list longer than this leaves a removed entry in place until compacted (see `remove`); a
// shorter one (never holding removed entries: compacting leaves none) splices it out.
const SPLICE_LIMIT = 64;

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
  // Entries removed from a long list but still in it, and how many each pattern's list holds: splicing
  // each one out cost the list's length, so dropping n instances of one @Follower class (or unsubscribing
  // n followers of one pattern) took time in n² (40,000: a second). Lists are compacted once half removed.
  readonly #removed = new Set<T>();
  readonly #removedIn = new Map<string, number>();
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
   * Adds an entry (once, with a `seq` above every entry's added before it); it is routed after them.
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
    if (!Array.isArray(found) || this.#removed.has(entry)) return false;
    const at = indexBySeq(found, entry);
    if (at === -1) return false;
    const removed = (this.#removedIn.get(entry.key) ?? 0) + 1;
    this.#size--;
    this.#changed();
    if (found.length - removed === 0) {
      for (const gone of found) this.#removed.delete(gone);
      this.#byPattern.delete(entry.key);
      this.#removedIn.delete(entry.key);
      return "last";
    }
    if (found.length <= SPLICE_LIMIT) found.splice(at, 1);
    else {
      this.#removed.add(entry);
      this.#removedIn.set(entry.key, removed);
      if (removed * 2 > found.length) this.#compact(entry.key, found);
    }
    const list = this.#byPattern.get(entry.key) as T[];
    if (list.length === 1) this.#byPattern.set(entry.key, list[0] as T);
    return true;
  }

  // Drops a list's removed entries, keeping the order of the others.
  #compact(key: string, list: T[]): void {
    const kept = list.filter((entry) => !this.#removed.delete(entry));
    this.#removedIn.delete(key);
    this.#byPattern.set(key, kept);
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
    for (const entries of this.#byPattern.values()) pushEntries(found, entries, this.#removed);
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
      pushEntries(found, entries, this.#removed);
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
      if (partMatches(pattern.name, name) && partMatches(pattern.action, action)) pushEntries(found, entries, this.#removed);
    }
    return sortBySeq(found);
  }
}

// One pattern's entries (one entry, or several in registration order) appended to `found`, but `removed`.
function pushEntries<T>(found: T[], entries: T | T[], removed: ReadonlySet<T>): void {
  if (!Array.isArray(entries)) found.push(entries);
  else if (removed.size === 0) for (const entry of entries) found.push(entry);
  else for (const entry of entries) if (!removed.has(entry)) found.push(entry);
}

// Where `entry` is in a list sorted by `seq` (entries are added in `seq` order), or -1. Not `indexOf`: an
// entry removed already (a collected instance's, once by a message that found it gone, then by its
// finalizer) was looked for through the whole list.
function indexBySeq<T extends Routable>(list: readonly T[], entry: T): number {
  let low = 0;
  let high = list.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const found = list[middle] as T;
    if (found.seq === entry.seq) return found === entry ? middle : -1;
    if (found.seq < entry.seq) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

function sortBySeq<T extends Routable>(entries: T[]): T[] {
  return entries.sort((a, b) => a.seq - b.seq);
}
