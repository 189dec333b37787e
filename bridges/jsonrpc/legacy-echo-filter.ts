import { createHash } from "node:crypto";
import type { Bus } from "../../lib/bus.js";
import { coarseNow } from "../../lib/coarse-clock.js";
import type { Message } from "../../lib/message.js";

/** Most fingerprints one bus remembers; the oldest are forgotten first. */
export const ECHO_MEMORY = 10_000;

// One filter per bus: every legacy path of a process (server sessions, client links) shares it.
const filters = new WeakMap<Bus, LegacyEchoFilter>();

interface Seen {
  until: number;
  /** Whether a copy seen had passed through a berryMQ 0.3 node. */
  legacy: boolean;
}

/**
 * Recognises a berryMQ 0.3 node's echoes. A 0.3 node drops messageId and hops and forwards what it gets to
 * all its other peers, so in a ring its copies come back looking new. Once a bus has a 0.3 peer, this
 * remembers for `window` ms a fingerprint of (identifier, args, kwargs) of every message the bus
 * dispatches, and whether that copy had passed through a 0.3 node (its `0.3@host:port` hop). A message
 * arriving with a fingerprint seen within the window is dropped when either copy passed through a 0.3
 * node: one is the other's echo. Two copies that never touched a 0.3 node are told apart by messageId as
 * usual. The price: a 0.3 node's identical messages less than `window` ms apart count as one.
 */
export class LegacyEchoFilter {
  readonly window: number;
  readonly #seen = new Map<string, Seen>();

  private constructor(bus: Bus, window: number) {
    this.window = window;
    bus.on("message", (message) => {
      const fingerprint = LegacyEchoFilter.fingerprint(message);
      if (fingerprint !== undefined) this.record(fingerprint, cameFromLegacy(message.hops));
    });
  }

  /** The filter of `bus`, created (with `window` ms) when the bus gets its first 0.3 peer. */
  static of(bus: Bus, window: number): LegacyEchoFilter {
    let filter = filters.get(bus);
    if (filter === undefined) {
      filter = new LegacyEchoFilter(bus, window);
      filters.set(bus, filter);
    }
    return filter;
  }

  /** The filter of `bus` if it ever had a 0.3 peer (buses without one pay nothing). */
  static find(bus: Bus): LegacyEchoFilter | undefined {
    return filters.get(bus);
  }

  /**
   * The fingerprint of a message's content; undefined for one JSON cannot carry (a BigInt, a cycle: a
   * local message no wire takes, hence none a 0.3 node could echo). This runs in the bus's `message`
   * event: a throw here escaped from `twitter()` and kept the message from the listeners after it.
   */
  static fingerprint(message: Pick<Message, "id" | "args" | "kwargs">): string | undefined {
    let text: string;
    try {
      text = JSON.stringify([message.id, message.args, message.kwargs]);
    } catch {
      return undefined;
    }
    return createHash("sha1").update(text).digest("base64");
  }

  /** Whether an arriving message is the echo of one seen within the window (and if so keeps it in mind longer). */
  isEcho(message: Pick<Message, "id" | "args" | "kwargs" | "hops">): boolean {
    const fingerprint = LegacyEchoFilter.fingerprint(message);
    if (fingerprint === undefined) return false;
    const seen = this.#seen.get(fingerprint);
    const now = coarseNow();
    if (seen === undefined || seen.until < now) return false;
    const legacy = cameFromLegacy(message.hops);
    if (!seen.legacy && !legacy) return false;
    this.record(fingerprint, legacy, now);
    return true;
  }

  /** Remembers a fingerprint for the window. */
  record(fingerprint: string, legacy: boolean, now = coarseNow()): void {
    const previous = this.#seen.get(fingerprint);
    this.#seen.delete(fingerprint);
    this.#seen.set(fingerprint, { until: now + this.window, legacy: legacy || previous?.legacy === true });
    // Oldest first: drop what expired, and the oldest beyond the bound.
    for (const [key, entry] of this.#seen) {
      if (entry.until >= now && this.#seen.size <= ECHO_MEMORY) break;
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
