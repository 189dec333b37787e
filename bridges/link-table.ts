import type { Bus } from "../lib/bus.js";
import type { Identifier } from "../lib/identifier.js";

/** What the routing table needs of a link. */
export interface RoutedLink {
  /** Id of the far bus, when this link reaches exactly one. */
  readonly linkedBusId: string | undefined;
  /** What the link forwards (its export filters). */
  readonly exports: readonly Identifier[];
  /** Whether the link is closing or closed (its routes are dead). */
  readonly closing: boolean;
  /** Sends a control message listing this bus's neighbours (the link knows how). */
  announce(neighbours: readonly Neighbour[]): void;
}

/** A bus one link away, and what that link forwards to it. */
export interface Neighbour {
  bus: string;
  exports: readonly Identifier[];
}

interface Route {
  readonly link: RoutedLink;
  readonly distance: number;
}

/** Bus ids a table remembers routes to, and neighbour lists it keeps (each bounded; oldest dropped). */
export const ROUTE_TABLE_LIMIT = 10_000;
/** Requests whose incoming link a table remembers, so their answers go back the same way (oldest dropped). */
export const REQUEST_PATHS_LIMIT = 20_000;
/** Most neighbours kept per announcing bus. */
export const NEIGHBOURS_LIMIT = 64;

/**
 * What the links of one bus know together: which link leads toward which bus (learned from the `hops`
 * of received messages: a message from origin A that arrived through link L says A is reachable through
 * L, at that many hops), and which buses each neighbouring bus links to (learned from its announcements),
 * so a message is not re-forwarded to a bus its sender already sent it to; and which link each request
 * came in by, so its answers go back that way whatever routes other messages' hops claim.
 */
export class LinkTable {
  readonly #links = new Set<RoutedLink>();
  readonly #routes = new Map<string, Route>();
  readonly #neighbours = new Map<string, Map<string, readonly Identifier[]>>();
  readonly #requestPaths = new Map<string, RoutedLink>();
  #announcing = false;

  /** A link of this bus started (or learnt its far bus): every link re-announces. */
  add(link: RoutedLink): void {
    this.#links.add(link);
    this.changed();
  }

  /** A link of this bus closed. */
  remove(link: RoutedLink): void {
    this.#links.delete(link);
    for (const [bus, route] of this.#routes) if (route.link === link) this.#routes.delete(bus);
    for (const [request, from] of this.#requestPaths) if (from === link) this.#requestPaths.delete(request);
    this.changed();
  }

  /** Remembers that the request `messageId` came in through `link` (the first time it came). */
  requestCameThrough(messageId: string, link: RoutedLink): void {
    if (this.#requestPaths.has(messageId)) return;
    if (this.#requestPaths.size >= REQUEST_PATHS_LIMIT) this.#requestPaths.delete(this.#requestPaths.keys().next().value as string);
    this.#requestPaths.set(messageId, link);
  }

  /**
   * The link an answer to `requestId` goes back through: the one the request came in by, when it is
   * remembered and open. Unlike learnt routes, a far side cannot forge this with made-up `hops`.
   */
  answerPath(requestId: string): RoutedLink | undefined {
    const link = this.#requestPaths.get(requestId);
    return link === undefined || link.closing ? undefined : link;
  }

  /** The set of neighbours changed: tell every link's far side, once per tick. */
  changed(): void {
    if (this.#announcing) return;
    this.#announcing = true;
    queueMicrotask(() => {
      this.#announcing = false;
      const neighbours = this.neighbours();
      for (const link of this.#links) if (!link.closing && link.linkedBusId !== undefined) link.announce(neighbours);
    });
  }

  /** This bus's neighbours: the far buses of its links, with what each link exports. */
  neighbours(): Neighbour[] {
    const list: Neighbour[] = [];
    for (const link of this.#links) {
      const bus = link.linkedBusId;
      if (bus !== undefined && !link.closing) list.push({ bus, exports: link.exports });
    }
    return list;
  }

  /** Records the buses of `hops` (origin first, the sending bus last) as reachable through `link`. */
  learn(hops: readonly string[], link: RoutedLink): void {
    for (let i = 0; i < hops.length; i++) {
      const bus = hops[i] as string;
      const distance = hops.length - i;
      const known = this.#routes.get(bus);
      if (known !== undefined && !known.link.closing && known.distance <= distance) continue;
      if (known === undefined && this.#routes.size >= ROUTE_TABLE_LIMIT) this.#routes.delete(this.#routes.keys().next().value as string);
      this.#routes.set(bus, { link, distance });
    }
  }

  /** The link toward `bus`: the link whose far side it is, else the shortest learnt route, else none. */
  routeTo(bus: string): RoutedLink | undefined {
    for (const link of this.#links) if (link.linkedBusId === bus && !link.closing) return link;
    const route = this.#routes.get(bus);
    return route === undefined || route.link.closing ? undefined : route.link;
  }

  /** Stores what a neighbouring bus announced. */
  setNeighbours(bus: string, neighbours: Map<string, readonly Identifier[]>): void {
    if (!this.#neighbours.has(bus) && this.#neighbours.size >= ROUTE_TABLE_LIMIT) {
      this.#neighbours.delete(this.#neighbours.keys().next().value as string);
    }
    this.#neighbours.set(bus, neighbours);
  }

  /** What `bus` forwards to `far` (from its announcement), or `undefined` when it has no link to it. */
  exportsOf(bus: string, far: string): readonly Identifier[] | undefined {
    return this.#neighbours.get(bus)?.get(far);
  }
}

const tables = new WeakMap<Bus, LinkTable>();

/** The table shared by the links of `bus`. */
export function linkTableOf(bus: Bus): LinkTable {
  let table = tables.get(bus);
  if (table === undefined) {
    table = new LinkTable();
    tables.set(bus, table);
  }
  return table;
}
