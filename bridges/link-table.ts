import type { Bus } from "../lib/bus.js";
import { type Identifier, isLocal } from "../lib/identifier.js";
import type { Message } from "../lib/message.js";
import { HeldAnswerDroppedError } from "./errors.js";

/** What the routing table needs of a link. */
export interface RoutedLink {
  /** Id of the far bus, when this link reaches exactly one. */
  readonly linkedBusId: string | undefined;
  /** What the link forwards (its export filters). */
  readonly exports: readonly Identifier[];
  /** What the link takes from its far bus (its import filters); absent: everything. */
  readonly imports?: readonly Identifier[];
  /**
   * Whether the import filters are what the bus's followers and queues follow (`importFilters: "followers"`,
   * never changed by hand): every such link of a bus takes the same messages, at every moment.
   */
  readonly followers?: boolean;
  /** Whether the link is closing or closed (its routes are dead). */
  readonly closing: boolean;
  /**
   * When it started forwarding, or last lost its far side (performance.now() ms; after a loss, no later
   * than the oldest request still in its buffer): it carried no request opened before to a far side that
   * can still answer (absent: any).
   */
  readonly startedAt?: number;
  /** Sends a control message listing this bus's neighbours (the link knows how). */
  announce(neighbours: readonly Neighbour[]): void;
  /**
   * Takes an answer the table held while no link was open (see `LinkTable`), to send toward its asker;
   * false when this link does not carry it (its export filters), and it stays held.
   */
  carryHeld?(answer: Message): boolean;
}

/** A bus one link away, and what that link forwards to it. */
export interface Neighbour {
  bus: string;
  exports: readonly Identifier[];
  /** What this bus takes from that bus (its link's import filters); absent: everything, or not told (an older peer). */
  imports?: readonly Identifier[];
  /** Whether those import filters are what this bus's followers follow (see RoutedLink.followers). */
  followers?: boolean;
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
 * Answers sent on every link (no way back known) whose carriers and drops a table counts until one of
 * those links sent it or each dropped it (oldest forgotten: no error answer for those).
 */
export const UNROUTED_DROPS_LIMIT = 1_000;
/**
 * Answers a bus holds at once while it has no link open (its links back closed: the far server that
 * carried the request restarted, or expired the asker's token), until a link to their asker opens
 * (oldest dropped and reported past it).
 */
export const HELD_ANSWERS_LIMIT = 1_000;
/** How long a bus holds such an answer, in ms, before it drops it and reports it. */
export const HELD_ANSWERS_MS = 60_000;

interface Held {
  readonly answer: Message;
  readonly timer: NodeJS.Timeout;
}

// An answer sent on every link: how many links took it, how many dropped it, and what to do when each
// did (the last drop's), once the dispatch that sent it is over.
interface Unrouted {
  carriers: number;
  drops: number;
  deciding: boolean;
  undeliverable: () => void;
}
const NOTHING = (): void => {};

/**
 * What the links of one bus know together: which link leads toward which bus (learned from the `hops`
 * of received messages: a message from origin A that arrived through link L says A is reachable through
 * L, at that many hops), and which buses each neighbouring bus links to (learned from its announcements),
 * so a message is not re-forwarded to a bus its sender already sent it to; and which link each request
 * came in by, so its answers go back that way whatever routes other messages' hops claim.
 * While the bus has no link open (its last one closed: the far server that took a request restarted, or
 * expired the asker's token, and closed its link back), answers of the bus to other buses are held
 * (bounded: `HELD_ANSWERS_LIMIT`, `HELD_ANSWERS_MS`) and sent once a link to their asker opens (the asker
 * reconnecting), or a route to it is learnt; one dropped is reported (HeldAnswerDroppedError), never lost
 * silently.
 */
export class LinkTable {
  readonly #links = new Set<RoutedLink>();
  readonly #routes = new Map<string, Route>();
  readonly #neighbours = new Map<string, Map<string, Neighbour>>();
  // The requests remembered and the link each came in by, in arrival order: two rings once full (the
  // oldest is found by index; deleting a Map's first key scans its deleted slots).
  readonly #requestIds: string[] = [];
  readonly #requestLinks: (RoutedLink | undefined)[] = [];
  #oldestRequest = 0;
  // The same, by id: built only once the bus has a second link. With one link there is no choice to
  // make, and a Map's has/set/delete of a fresh string per request cost ~0.8 µs of a round trip.
  #requestPaths: Map<string, RoutedLink> | undefined;
  // Answers that went out on every link (no way back known) and that none of those links has sent yet.
  readonly #unrouted = new Map<string, Unrouted>();
  #announcing = false;
  // The bus (absent for a table built alone): answers are held only for it.
  readonly #bus: Bus | undefined;
  // Answers held while no link is open, by messageId, oldest first; whether `#hold` listens on the bus.
  readonly #held = new Map<string, Held>();
  #holding = false;
  #heldLimit = HELD_ANSWERS_LIMIT;
  #heldMs = HELD_ANSWERS_MS;
  #releasing = false;
  readonly #hold = (message: Message): void => this.#holdAnswer(message);
  /** Held answers dropped (past `HELD_ANSWERS_MS` or `HELD_ANSWERS_LIMIT`), each reported. */
  heldDropped = 0;

  constructor(bus?: Bus) {
    this.#bus = bus;
  }

  /** A link of this bus started (or learnt its far bus): every link re-announces. */
  add(link: RoutedLink): void {
    this.#links.add(link);
    if (this.#links.size > 1 && this.#requestPaths === undefined) this.#requestPaths = this.#pathsFromRings();
    if (this.#holding) {
      this.#holding = false;
      this.#bus?.off("message", this.#hold);
    }
    this.#release();
    this.changed();
  }

  /** A link of this bus learnt its far bus: answers held for that bus go by it. */
  linked(link: RoutedLink): void {
    if (this.#links.has(link)) this.#release();
    this.changed();
  }

  /** Answers held while no link was open (see the class). */
  get heldAnswers(): number {
    return this.#held.size;
  }

  /** Changes the bounds of held answers (most at once, ms each): for tests and tuning. */
  holdAnswers(limit: number, ms: number): void {
    this.#heldLimit = limit;
    this.#heldMs = ms;
  }

  /** A link of this bus closed. */
  remove(link: RoutedLink): void {
    this.#links.delete(link);
    if (this.#links.size === 0 && !this.#holding && this.#bus !== undefined && !this.#bus.closed) {
      this.#holding = true;
      this.#bus.on("message", this.#hold);
    }
    for (const [bus, route] of this.#routes) if (route.link === link) this.#routes.delete(bus);
    const ids = this.#requestIds;
    const links = this.#requestLinks;
    for (let i = 0; i < links.length; i++) {
      if (links[i] !== link) continue;
      links[i] = undefined;
      this.#requestPaths?.delete(ids[i] as string);
    }
    this.changed();
  }

  /** Remembers that the request `messageId` came in through `link` (the first time it came). */
  requestCameThrough(messageId: string, link: RoutedLink): void {
    const paths = this.#requestPaths;
    if (paths !== undefined) {
      if (paths.has(messageId)) return;
      paths.set(messageId, link);
    }
    const ids = this.#requestIds;
    if (ids.length < REQUEST_PATHS_LIMIT) {
      ids.push(messageId);
      this.#requestLinks.push(link);
      return;
    }
    const oldest = this.#oldestRequest;
    if (paths !== undefined && this.#requestLinks[oldest] !== undefined) paths.delete(ids[oldest] as string);
    ids[oldest] = messageId;
    this.#requestLinks[oldest] = link;
    this.#oldestRequest = (oldest + 1) % REQUEST_PATHS_LIMIT;
  }

  /**
   * The link an answer to `requestId` goes back through: the one the request came in by, when it is
   * remembered and open. Unlike learnt routes, a far side cannot forge this with made-up `hops`. While
   * the bus has one link, that link (open), whatever the id: an answer has no other way to go.
   */
  answerPath(requestId: string): RoutedLink | undefined {
    const paths = this.#requestPaths;
    let link: RoutedLink | undefined;
    if (paths !== undefined) link = paths.get(requestId);
    else for (const only of this.#links) link = only;
    return link === undefined || link.closing ? undefined : link;
  }

  /**
   * A link took the answer `answerId` to send on, no way back to its asker being known (as it goes out:
   * one of the links it goes out on "everywhere"). Counted until one of them sent it or each dropped it.
   */
  carrying(answerId: string): void {
    const unrouted = this.#unrouted;
    let entry = unrouted.get(answerId);
    if (entry === undefined) {
      if (unrouted.size >= UNROUTED_DROPS_LIMIT) unrouted.delete(unrouted.keys().next().value as string);
      entry = { carriers: 0, drops: 0, deciding: false, undeliverable: NOTHING };
      unrouted.set(answerId, entry);
    }
    entry.carriers++;
  }

  /**
   * A link that took `answerId` (see `carrying`) sent it: it may reach the asker, so no error answer goes
   * for it, whatever the other links do with it (and whether this one closes afterwards).
   */
  carried(answerId: string): void {
    this.#unrouted.delete(answerId);
  }

  /**
   * A link that took `answerId` (see `carrying`) dropped it. Once each link that took it did (and none
   * sent it), `undeliverable` (this drop's, if last) runs, after the dispatch that sent the answer: a
   * link that drops it at once must not decide before the links after it took it. Nothing for an answer
   * already sent by one of them, or forgotten.
   */
  dropped(answerId: string, undeliverable: () => void): void {
    const unrouted = this.#unrouted;
    const entry = unrouted.get(answerId);
    if (entry === undefined) return;
    entry.drops++;
    entry.undeliverable = undeliverable;
    if (entry.drops < entry.carriers || entry.deciding) return;
    entry.deciding = true;
    queueMicrotask(() => {
      entry.deciding = false;
      if (unrouted.get(answerId) !== entry || entry.drops < entry.carriers) return;
      unrouted.delete(answerId);
      entry.undeliverable();
    });
  }

  /**
   * An answer a closing link could not deliver (its far side unreachable until it closed): it goes by the
   * link now leading to its asker (the asker reconnected meanwhile), or is held while no link is open.
   */
  undelivered(answer: Message): void {
    const to = answer.to;
    if (to === undefined || answer.inReplyTo === undefined) return;
    if (this.routeTo(to)?.carryHeld?.(answer) === true) return;
    if (this.#links.size === 0) this.#holdAnswer(answer);
  }

  // An answer of this bus (or one it relays) to another bus, dispatched while no link is open: held.
  #holdAnswer(answer: Message): void {
    const bus = this.#bus;
    const to = answer.to;
    if (bus === undefined || answer.inReplyTo === undefined || to === undefined || to === bus.id || isLocal(answer)) return;
    if (this.#held.has(answer.messageId)) return;
    if (this.#held.size >= this.#heldLimit) {
      const oldest = this.#held.values().next().value as Held;
      this.#dropHeld(oldest, "overflow", this.#heldLimit);
    }
    const held: Held = {
      answer,
      timer: setTimeout(() => this.#dropHeld(held, "expired", this.#heldMs), this.#heldMs).unref(),
    };
    this.#held.set(answer.messageId, held);
  }

  #dropHeld(held: Held, reason: "expired" | "overflow", bound: number): void {
    if (this.#held.get(held.answer.messageId) !== held) return;
    this.#held.delete(held.answer.messageId);
    clearTimeout(held.timer);
    this.heldDropped++;
    // A bus closed since has no listener left: its owner closed it, knowing its links were down.
    if (this.#bus?.closed === false) this.#bus.report(new HeldAnswerDroppedError(held.answer, reason, bound));
  }

  // Held answers go to the link now leading to their asker (its far bus, or a learnt route), after the
  // current call: a link that just started is not yet done starting, and one tick's answers go together.
  #release(): void {
    if (this.#held.size === 0 || this.#releasing) return;
    this.#releasing = true;
    queueMicrotask(() => {
      this.#releasing = false;
      for (const held of [...this.#held.values()]) {
        const link = this.routeTo(held.answer.to as string);
        if (link?.carryHeld === undefined || this.#held.get(held.answer.messageId) !== held) continue;
        if (!link.carryHeld(held.answer)) continue;
        this.#held.delete(held.answer.messageId);
        clearTimeout(held.timer);
      }
    });
  }

  // The requests of the rings by id (first arrival kept), when a second link starts.
  #pathsFromRings(): Map<string, RoutedLink> {
    const paths = new Map<string, RoutedLink>();
    const ids = this.#requestIds;
    const links = this.#requestLinks;
    // Oldest first, so that an id remembered twice keeps its first link, as set-if-absent did.
    for (let n = 0; n < ids.length; n++) {
      const i = (this.#oldestRequest + n) % ids.length;
      const link = links[i];
      const id = ids[i] as string;
      if (link !== undefined && !paths.has(id)) paths.set(id, link);
    }
    return paths;
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

  /** Links open (started, not closing). */
  get size(): number {
    return this.#links.size;
  }

  /**
   * When the oldest link still open started (performance.now() ms), `except` aside; Infinity when none
   * is open.
   */
  oldestOpenLink(except?: RoutedLink): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const link of this.#links) if (!link.closing && link !== except) oldest = Math.min(oldest, link.startedAt ?? 0);
    return oldest;
  }

  /**
   * Whether a link still open, not among `refusedBy`, started at or before `opened`: one that carried a
   * request opened then, which the links in `refusedBy` refused (see RequestTable's `refused`).
   */
  carries(opened: number, refusedBy: ReadonlySet<object>): boolean {
    for (const link of this.#links) if (!link.closing && !refusedBy.has(link) && (link.startedAt ?? 0) <= opened) return true;
    return false;
  }

  /** This bus's neighbours: the far buses of its links, with what each link exports. */
  neighbours(): Neighbour[] {
    const list: Neighbour[] = [];
    for (const link of this.#links) {
      const bus = link.linkedBusId;
      if (bus === undefined || link.closing) continue;
      const imports = link.imports;
      const neighbour: Neighbour =
        imports === undefined ? { bus, exports: link.exports } : { bus, exports: link.exports, imports };
      if (link.followers === true) neighbour.followers = true;
      list.push(neighbour);
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
      if (known === undefined && this.#routes.size >= ROUTE_TABLE_LIMIT)
        this.#routes.delete(this.#routes.keys().next().value as string);
      this.#routes.set(bus, { link, distance });
    }
    if (this.#held.size > 0) this.#release();
  }

  /** The link toward `bus`: the link whose far side it is, else the shortest learnt route, else none. */
  routeTo(bus: string): RoutedLink | undefined {
    for (const link of this.#links) if (link.linkedBusId === bus && !link.closing) return link;
    const route = this.#routes.get(bus);
    return route === undefined || route.link.closing ? undefined : route.link;
  }

  /** Stores what a neighbouring bus announced. */
  setNeighbours(bus: string, neighbours: Map<string, Neighbour>): void {
    if (!this.#neighbours.has(bus) && this.#neighbours.size >= ROUTE_TABLE_LIMIT) {
      this.#neighbours.delete(this.#neighbours.keys().next().value as string);
    }
    this.#neighbours.set(bus, neighbours);
  }

  /** What `bus` forwards to `far` (from its announcement), or `undefined` when it has no link to it. */
  exportsOf(bus: string, far: string): readonly Identifier[] | undefined {
    return this.#neighbours.get(bus)?.get(far)?.exports;
  }

  /** Whether `bus` announced a link to some bus other than `except` (it forwards beyond it). */
  linksBeyond(bus: string, except: string): boolean {
    const neighbours = this.#neighbours.get(bus);
    if (neighbours === undefined) return false;
    for (const far of neighbours.keys()) if (far !== except) return true;
    return false;
  }

  /**
   * What `bus` announced of its link to `far` (what it sends there, and takes from there when it said), or
   * `undefined` when it announced no link to it.
   */
  neighbourOf(bus: string, far: string): Neighbour | undefined {
    return this.#neighbours.get(bus)?.get(far);
  }
}

const tables = new WeakMap<Bus, LinkTable>();

/** The table shared by the links of `bus`. */
export function linkTableOf(bus: Bus): LinkTable {
  let table = tables.get(bus);
  if (table === undefined) {
    table = new LinkTable(bus);
    tables.set(bus, table);
  }
  return table;
}
