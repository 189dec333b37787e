import { type Identifier, MAX_CACHED_IDENTIFIER_LENGTH, parseIdentifier, partMatches } from "../../lib/identifier.js";

interface Client {
  patterns: Identifier[];
  lastSeen: number;
}

const CACHE_LIMIT = 10_000;

// The clients an identifier goes to, and (for the last sender asked about) those other than the sender:
// a one-message round trip otherwise filtered and joined a fresh array and key on every message.
interface Route {
  targets: readonly string[];
  sender: string | undefined;
  others: readonly string[];
  othersKey: string;
}

/**
 * The broker's clients and their berryMQ patterns. Matching is symmetric (a wildcard on either side
 * matches), and the targets of each identifier are cached until a subscription changes.
 */
export class SubscriptionTable {
  readonly #clients = new Map<string, Client>();
  readonly #cache = new Map<string, Route>();

  /** Number of registered clients. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * Registers or refreshes a client; says whether it was new, changed its patterns, or is the same.
   * Throws InvalidIdentifierError on a bad pattern.
   */
  set(clientId: string, patterns: readonly string[], now: number): "new" | "changed" | "same" {
    const parsed = patterns.map((pattern) => parseIdentifier(pattern));
    const known = this.#clients.get(clientId);
    if (known !== undefined && sameIds(known.patterns, parsed)) {
      known.lastSeen = now;
      return "same";
    }
    this.#clients.set(clientId, { patterns: parsed, lastSeen: now });
    this.#cache.clear();
    return known === undefined ? "new" : "changed";
  }

  /** Marks a client as alive. */
  touch(clientId: string, now: number): void {
    const client = this.#clients.get(clientId);
    if (client !== undefined) client.lastSeen = now;
  }

  /**
   * Whether `clientId`'s patterns, as they are now, match `identifier` (false for a client not registered);
   * `patterns` (from {@link patternsOf}) asks about patterns it had before.
   */
  matches(
    clientId: string,
    identifier: string,
    patterns: readonly Identifier[] | undefined = this.#clients.get(clientId)?.patterns,
  ): boolean {
    if (patterns === undefined) return false;
    const id = parseIdentifier(identifier);
    return patterns.some((p) => partMatches(p.name, id.name) && partMatches(p.action, id.action));
  }

  /** The parsed patterns of a registered client (kept as they are: {@link set} replaces them, never changes them). */
  patternsOf(clientId: string): readonly Identifier[] | undefined {
    return this.#clients.get(clientId)?.patterns;
  }

  /** Whether the client is registered. */
  has(clientId: string): boolean {
    return this.#clients.has(clientId);
  }

  /** Forgets a client; returns whether it was registered. */
  delete(clientId: string): boolean {
    const removed = this.#clients.delete(clientId);
    if (removed) this.#cache.clear();
    return removed;
  }

  /** Forgets every client silent since before `cutoff`; returns their ids. */
  expire(cutoff: number): string[] {
    const gone: string[] = [];
    for (const [id, client] of this.#clients) if (client.lastSeen < cutoff) gone.push(id);
    for (const id of gone) this.delete(id);
    return gone;
  }

  /** Ids of the clients with a pattern matching `identifier`, in registration order. */
  targets(identifier: string): readonly string[] {
    return this.#route(identifier).targets;
  }

  /**
   * {@link targets} without `senderId`, and those ids joined by commas (a key that tells apart the sets of
   * recipients); the arrays returned are shared and must not be changed.
   */
  others(identifier: string, senderId: string): { readonly topics: readonly string[]; readonly key: string } {
    const route = this.#route(identifier);
    if (route.sender !== senderId) {
      route.others = route.targets.includes(senderId) ? route.targets.filter((id) => id !== senderId) : route.targets;
      route.othersKey = route.others.join();
      route.sender = senderId;
    }
    return this.#answer(route.others, route.othersKey);
  }

  // One reused answer object: `others` is called once per message, and its caller reads both fields at once.
  readonly #reply = { topics: [] as readonly string[], key: "" };

  #answer(topics: readonly string[], key: string): { readonly topics: readonly string[]; readonly key: string } {
    this.#reply.topics = topics;
    this.#reply.key = key;
    return this.#reply;
  }

  #route(identifier: string): Route {
    let route = this.#cache.get(identifier);
    if (route === undefined) {
      const id = parseIdentifier(identifier);
      const found: string[] = [];
      for (const [clientId, client] of this.#clients) {
        if (client.patterns.some((p) => partMatches(p.name, id.name) && partMatches(p.action, id.action))) found.push(clientId);
      }
      route = { targets: found, sender: undefined, others: found, othersKey: "" };
      if (identifier.length > MAX_CACHED_IDENTIFIER_LENGTH) return route;
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(identifier, route);
    }
    return route;
  }
}

function sameIds(a: readonly Identifier[], b: readonly Identifier[]): boolean {
  return a.length === b.length && a.every((x, i) => x.id === b[i]?.id);
}
