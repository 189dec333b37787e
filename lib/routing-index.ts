import { formatIdentifier, type Identifier, isWildcard, MAX_CACHED_IDENTIFIER_LENGTH, parseIdentifier, partMatches, WILDCARD } from "./identifier.js";

/** What the index holds: anything with a pattern (its canonical id) and a registration sequence number. */
export interface Routable {
  readonly seq: number;
  /** The canonical id of the pattern it follows (`Identifier.id`). */
  readonly key: string;
}

const CACHE_LIMIT = 10_000;
const NONE: readonly never[] = Object.freeze([]);
// A pattern's list longer than this keeps a removed entry's place until compacted (see `remove`); a
// shorter one (never holding such places: compacting leaves none) splices the entry out.
const SPLICE_LIMIT = 64;

// What a long list holds in place of a removed entry until compacted: its `seq`, so the list stays sorted
// for the binary search, but not the entry (a removed follower, and all it captured, stays collectable).
class Removed implements Routable {
  constructor(
    readonly seq: number,
    readonly key: string,
  ) {}
}

/**
 * Routes identifiers to entries. Entries are grouped by exact pattern, so a concrete `n:a` needs at most
 * four look-ups (`n:a`, `n:*`, `*:a`, `*:*`, all in the identifier's namespace) however many unrelated
 * patterns exist; the merged list, in registration order, is cached per identifier until the next change.
 * A pattern with one entry maps to the entry itself (no array): most patterns have one follower, and a
 * follower then costs one map slot and its entry.
 */
export class RoutingIndex<T extends Routable> {
  readonly #byPattern = new Map<string, T | (T | Removed)[]>();
  readonly #cache = new Map<string, readonly T[]>();
  // How many Removed places each long list holds: splicing each removed entry out cost the list's length,
  // so dropping n instances of one @Follower class (or unsubscribing n followers of one pattern) took time
  // in n² (40,000: a second). A list is compacted once half of it is Removed.
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
    const at = Array.isArray(found) ? indexBySeq(found, entry) : -1;
    if (at === -1) return false;
    let list = found as (T | Removed)[];
    const removed = (this.#removedIn.get(entry.key) ?? 0) + 1;
    this.#size--;
    this.#changed();
    if (removed === list.length) {
      this.#byPattern.delete(entry.key);
      this.#removedIn.delete(entry.key);
      return "last";
    }
    if (list.length <= SPLICE_LIMIT) list.splice(at, 1);
    else if (removed * 2 <= list.length) {
      list[at] = new Removed(entry.seq, entry.key);
      this.#removedIn.set(entry.key, removed);
    } else {
      list = list.filter((kept, i) => i !== at && !(kept instanceof Removed)); // compacted, in order
      this.#removedIn.delete(entry.key);
      this.#byPattern.set(entry.key, list);
    }
    if (list.length === 1) this.#byPattern.set(entry.key, list[0] as T);
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
function pushEntries<T>(found: T[], entries: T | (T | Removed)[]): void {
  if (!Array.isArray(entries)) found.push(entries);
  else for (const entry of entries) if (!(entry instanceof Removed)) found.push(entry);
}

// Where `entry` is in a list sorted by `seq` (entries are added in `seq` order), or -1. Not `indexOf`: an
// entry removed already (a collected instance's, once by a message that found it gone, then by its
// finalizer) was looked for through the whole list.
function indexBySeq(list: readonly Routable[], entry: Routable): number {
  let low = 0;
  let high = list.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const found = list[middle] as Routable;
    if (found.seq === entry.seq) return found === entry ? middle : -1;
    if (found.seq < entry.seq) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

function sortBySeq<T extends Routable>(entries: T[]): T[] {
  return entries.sort((a, b) => a.seq - b.seq);
}
