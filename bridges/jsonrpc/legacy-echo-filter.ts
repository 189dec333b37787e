import { createHash } from "node:crypto";
import type { Bus } from "../../lib/bus.js";
import { coarseNow } from "../../lib/coarse-clock.js";

/** Most fingerprints one bus remembers; the oldest are forgotten first. */
export const ECHO_MEMORY = 10_000;

// One filter per bus: every legacy path of a process (server sessions, client links) shares it.
const filters = new WeakMap<Bus, LegacyEchoFilter>();

/**
 * Recognises a berryMQ 0.3 node's echoes. A 0.3 node drops messageId and hops and forwards what it gets to
 * all its other peers, so in a ring its copies look new. This remembers, for `window` ms, a fingerprint of
 * (identifier, args, kwargs) of every message sent to or received from a 0.3 peer (and of every message
 * marked as having come from one): the same content again within the window is that echo and is dropped.
 * The price: a 0.3 node sending identical messages less than `window` ms apart is seen sending one.
 */
export class LegacyEchoFilter {
  readonly window: number;
  readonly #seen = new Map<string, number>();

  constructor(window: number) {
    this.window = window;
  }

  /** The filter of `bus` (created with `window` ms the first time). */
  static of(bus: Bus, window: number): LegacyEchoFilter {
    let filter = filters.get(bus);
    if (filter === undefined) {
      filter = new LegacyEchoFilter(window);
      filters.set(bus, filter);
    }
    return filter;
  }

  /** The fingerprint of a message's content. */
  static fingerprint(identifier: string, args: unknown, kwargs: unknown): string {
    return createHash("sha1").update(JSON.stringify([identifier, args, kwargs])).digest("base64");
  }

  /** Whether `fingerprint` was seen within the window; records it (again) either way. */
  check(fingerprint: string): boolean {
    const now = coarseNow();
    const until = this.#seen.get(fingerprint);
    const seen = until !== undefined && until >= now;
    this.record(fingerprint, now);
    return seen;
  }

  /** Remembers `fingerprint` for the window. */
  record(fingerprint: string, now = coarseNow()): void {
    this.#seen.delete(fingerprint);
    this.#seen.set(fingerprint, now + this.window);
    // Oldest first: drop what expired, and the oldest beyond the bound.
    for (const [key, until] of this.#seen) {
      if (until >= now && this.#seen.size <= ECHO_MEMORY) break;
      this.#seen.delete(key);
    }
  }

  /** Number of fingerprints remembered. */
  get size(): number {
    return this.#seen.size;
  }
}

/** The hop a message received from the berryMQ 0.3 node at `host:port` carries (0.3 nodes have no bus id). */
export function legacyHop(host: string, port: number | string): string {
  return `0.3@${host}:${port}`;
}

/** Whether a message passed through a berryMQ 0.3 node (its echoes may come back with new messageIds). */
export function cameFromLegacy(hops: readonly unknown[]): boolean {
  for (const hop of hops) if (typeof hop === "string" && hop.startsWith("0.3@")) return true;
  return false;
}
