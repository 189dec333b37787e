import { formatIdentifier, type Identifier, isWildcard, parseIdentifier, partMatches, WILDCARD } from "./identifier.js";

/** What the index holds: anything with a pattern and a registration sequence number. */
export interface Routable {
  readonly seq: number;
  readonly pattern: Identifier;
}

const CACHE_LIMIT = 10_000;
const NONE: readonly never[] = Object.freeze([]);

/**
 * Routes identifiers to entries. Entries are grouped by exact pattern, so a concrete `n:a` needs at most
 * four look-ups (`n:a`, `n:*`, `*:a`, `*:*`, all in the identifier's namespace) however many unrelated
 * patterns exist; the merged list, in registration order, is cached per identifier until the next change.
 */
export class RoutingIndex<T extends Routable> {
  readonly #byPattern = new Map<string, T[]>();
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
    const list = this.#byPattern.get(entry.pattern.id);
    if (list === undefined) this.#byPattern.set(entry.pattern.id, [entry]);
    else list.push(entry);
    this.#size++;
    this.#changed();
    return list === undefined;
  }

  /**
   * Removes an entry.
   * @returns `false` if it was not there, `"last"` if it was the last entry with its pattern, else `true`.
   */
  remove(entry: T): boolean | "last" {
    const list = this.#byPattern.get(entry.pattern.id);
    const at = list === undefined ? -1 : list.indexOf(entry);
    if (list === undefined || at === -1) return false;
    list.splice(at, 1);
    this.#size--;
    this.#changed();
    if (list.length > 0) return true;
    this.#byPattern.delete(entry.pattern.id);
    return "last";
  }

  /** The distinct patterns of the entries, in no particular order. */
  patterns(): Identifier[] {
    return [...this.#byPattern.values()].map((list) => (list[0] as T).pattern);
  }

  #changed(): void {
    this.#version++;
    this.#cache.clear();
  }

  /** Every entry, in registration order. */
  all(): T[] {
    return sortBySeq([...this.#byPattern.values()].flat());
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
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(identifier.id, found);
    return found;
  }

  #probe({ name, action, namespace }: Identifier): readonly T[] {
    const lists: T[][] = [];
    const keys = [
      formatIdentifier(name, namespace, action),
      formatIdentifier(name, namespace, WILDCARD),
      formatIdentifier(WILDCARD, namespace, action),
      formatIdentifier(WILDCARD, namespace, WILDCARD),
    ];
    for (const key of keys) {
      const list = this.#byPattern.get(key);
      if (list !== undefined) lists.push(list);
    }
    if (lists.length === 0) return NONE;
    if (lists.length === 1) return (lists[0] as T[]).slice();
    return sortBySeq(lists.flat());
  }

  // A sender wildcard may match any pattern: a full scan, acceptable for the rarer case.
  #scan({ name, action, namespace }: Identifier): readonly T[] {
    const found: T[] = [];
    for (const list of this.#byPattern.values()) {
      const pattern = (list[0] as T).pattern;
      if (pattern.namespace !== namespace) continue;
      if (partMatches(pattern.name, name) && partMatches(pattern.action, action)) found.push(...list);
    }
    return sortBySeq(found);
  }
}

function sortBySeq<T extends Routable>(entries: T[]): T[] {
  return entries.sort((a, b) => a.seq - b.seq);
}
