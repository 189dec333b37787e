import { randomUUID } from "node:crypto";
import type { Bus } from "../../lib/bus.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { parseIdentifier } from "../../lib/identifier.js";
import type { Message } from "../../lib/message.js";
import { Queue } from "../../lib/queue.js";
import type { CloseReport, LinkOptions } from "../link.js";
import { fromEnvelope } from "../envelope.js";
import { BridgeErrorCode } from "./error-codes.js";
import { RpcFault } from "./errors.js";
import { LegacyPeerLink } from "./legacy-peer-link.js";
import { fromLegacy } from "./legacy-message.js";
import { PeerLink } from "./peer-link.js";
import { parseHttpUrl } from "./rpc-endpoint.js";
import { type Session, SessionTable } from "./session-table.js";

/** The receiving end of a peer connection: a link that injects what the peer sends. */
export interface PeerEnd {
  accept(frame: unknown): number | undefined;
  acceptMessage(message: Message): number | undefined;
  close(): Promise<CloseReport>;
}

/** The session behind a token. */
export type BridgeSession =
  | { readonly kind: "oneway"; close(): void }
  | { readonly kind: "queue"; readonly queue: Queue; close(): void }
  | { readonly kind: "peer"; readonly link: PeerEnd; close(): Promise<void> | void };

/** Options of {@link BridgeState}. */
export interface BridgeStateOptions {
  bus: Bus;
  /** Filters of the queues the server owns from the start (shared by every client pulling that filter). */
  queues: readonly string[];
  /** How often expired tokens are swept, in ms. */
  sweepInterval: number;
  /** Options of the links the server opens back to peers that interconnect. */
  peerLink: LinkOptions;
  /** Secret the server's links back to peers present (the peers' servers may require one). */
  peerSecret: string | undefined;
}

/**
 * What a bridge server does, whatever the wire form (berryMQ 0.3 or JSON-RPC 2.0): tokens and their
 * sessions (send-only, queue, peer), sending into the bus, pulling from queues.
 */
export class BridgeState {
  readonly bus: Bus;
  readonly sessions: SessionTable<Session & BridgeSession>;
  /** The filters of the queues the server owns. */
  readonly queueFilters: readonly string[];
  readonly #ownQueues: Queue[];
  readonly #peerLink: LinkOptions;
  readonly #peerSecret: string | undefined;
  #legacySeq = 0;

  constructor(options: BridgeStateOptions) {
    this.bus = options.bus;
    this.sessions = new SessionTable(options.sweepInterval);
    // Shared, so that every client pulling the same filter competes for the messages these collect.
    this.#ownQueues = options.queues.map((filter) => new Queue(filter, { bus: this.bus, shared: true }));
    this.queueFilters = this.#ownQueues.map((queue) => queue.filter);
    this.#peerLink = options.peerLink;
    this.#peerSecret = options.peerSecret;
  }

  /** Style 02: a token to send with. */
  connectOneway(ttl: unknown): string {
    return this.sessions.open({ kind: "oneway", close() {} }, checkTtl(ttl));
  }

  /**
   * Style 03: a token for a queue of `filter` on this server. A filter the server owns a queue for shares
   * that queue (and what it collected so far); `shared` makes clients with the same filter compete.
   */
  connectQueue(filter: unknown, ttl: unknown, shared: boolean): string {
    if (typeof filter !== "string") throw new InvalidArgumentError("identifier", filter, 'a filter such as "task:*"');
    const checked = checkTtl(ttl);
    const owned = this.queueFilters.includes(parseIdentifier(filter).id);
    const queue = new Queue(filter, { bus: this.bus, shared: shared || owned });
    return this.sessions.open({ kind: "queue", queue, close: () => void queue.close() }, checked);
  }

  /** Style 01 (JSON-RPC 2.0): opens the link back to the peer's server at `url`. */
  interconnect(url: unknown, token: unknown, busId: unknown, ttl: unknown): { busId: string } {
    if (typeof url !== "string") throw new InvalidArgumentError("url", url, "the peer's bridge server URL");
    parseHttpUrl(url);
    if (typeof token !== "string" || token.length === 0 || token.length > 256)
      throw new InvalidArgumentError("token", token, "a string of 1 to 256 characters");
    if (typeof busId !== "string" || busId.length === 0 || busId.length > 256)
      throw new InvalidArgumentError("busId", busId, "the peer's bus id");
    const checked = checkTtl(ttl);
    const onLost = (): void => void this.sessions.close(token);
    const link = new PeerLink(
      url,
      { ...this.#peerLink, ...this.#secret(), bus: this.bus, name: `peer ${url}` },
      { token, busId, onLost },
    );
    this.#openPeer(link, token, checked);
    return { busId: this.bus.id };
  }

  /** Style 01 (berryMQ 0.3): `interconnect(addr, token, ttl)` with `addr` = `[host, port]`. */
  interconnectLegacy(addr: unknown, token: unknown, ttl: unknown): string {
    if (
      !Array.isArray(addr) ||
      addr.length !== 2 ||
      typeof addr[0] !== "string" ||
      !Number.isInteger(addr[1]) ||
      (addr[1] as number) < 1 ||
      (addr[1] as number) > 65_535
    ) {
      throw new InvalidArgumentError("addr", addr, '[host, port], e.g. ["127.0.0.1", 7300]');
    }
    const given = token === null || token === undefined ? randomUUID() : token;
    if (typeof given !== "string" || given.length === 0 || given.length > 256)
      throw new InvalidArgumentError("token", token, "a string of 1 to 256 characters, or null");
    const checked = checkTtl(ttl);
    const host = addr[0].includes(":") ? `[${addr[0]}]` : addr[0];
    const url = `http://${host}:${addr[1]}/`;
    parseHttpUrl(url);
    const link = new LegacyPeerLink(url, given, () => void this.sessions.close(given), {
      ...this.#peerLink,
      bus: this.bus,
      name: `berryMQ 0.3 peer ${url}`,
    });
    return this.#openPeer(link, given, checked);
  }

  /** Routes a local peer link's incoming messages (its far side sends with `token`). */
  attachPeer(token: string, link: PeerEnd): void {
    // The link belongs to its creator: dropping the route must not close it.
    this.sessions.open({ kind: "peer", link, close() {} }, undefined, token);
  }

  /** Delivers an envelope sent with `token`; resolves to how many received it (null: a duplicate). */
  send(token: unknown, envelope: unknown): number | null {
    const session = this.sessions.use(token);
    if (session.kind === "queue") throw wrongKind(session.kind, "send");
    if (session.kind === "peer") return session.link.accept(envelope) ?? null;
    return this.bus.inject(fromEnvelope(envelope)) ?? null;
  }

  /** Delivers a message given as identifier, args and kwargs (berryMQ 0.3 `send_message`, `berrymq.twitter`). */
  sendPlain(token: unknown, identifier: unknown, args: unknown, kwargs: unknown): number | null {
    const session = this.sessions.use(token);
    if (session.kind === "queue") throw wrongKind(session.kind, "send");
    // The origin names this server, never the token (tokens are credentials, messages travel on).
    const message = fromLegacy(identifier, args, kwargs, `client@${this.bus.id}`, ++this.#legacySeq);
    if (session.kind === "peer") return session.link.acceptMessage(message) ?? null;
    return this.bus.inject(message) ?? null;
  }

  /** Waits up to `timeout` ms (undefined: until a message or abort) for a message of the token's queue. */
  get(token: unknown, timeout: number | undefined, signal: AbortSignal | undefined): Promise<Message> {
    const queue = this.#queueOf(token);
    return queue.get({ ...(timeout === undefined ? {} : { timeout }), ...(signal === undefined ? {} : { signal }) });
  }

  /** The oldest message of the token's queue, at once (QueueEmptyError when none). */
  getNowait(token: unknown): Message {
    return this.#queueOf(token).getNowait();
  }

  /** Keeps a token alive; throws when it is unknown or expired. */
  ping(token: unknown): { busId: string } {
    this.sessions.use(token);
    return { busId: this.bus.id };
  }

  /** Closes a token's session (its queue, its link back); unknown tokens are ignored. */
  async closeToken(token: unknown): Promise<void> {
    if (typeof token === "string") await this.sessions.close(token);
  }

  /** Closes every session and the server's own queues. */
  async close(): Promise<void> {
    await this.sessions.closeAll();
    for (const queue of this.#ownQueues) queue.close();
  }

  #openPeer(link: PeerEnd, token: string, ttl: number | undefined): string {
    return this.sessions.open(
      {
        kind: "peer",
        link,
        close: async () => {
          await link.close();
        },
      },
      ttl,
      token,
    );
  }

  #queueOf(token: unknown): Queue {
    const session = this.sessions.use(token);
    if (session.kind !== "queue") throw wrongKind(session.kind, "get");
    return session.queue;
  }

  #secret(): { secret?: string } {
    return this.#peerSecret === undefined ? {} : { secret: this.#peerSecret };
  }
}

function checkTtl(ttl: unknown): number | undefined {
  if (ttl === null || ttl === undefined || ttl === 0) return undefined;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0)
    throw new InvalidArgumentError("ttl", ttl, "seconds >= 0, or null for no expiry");
  return ttl;
}

function wrongKind(kind: string, what: string): RpcFault {
  return new RpcFault(BridgeErrorCode.WrongConnection, `a ${kind} connection's token cannot ${what}`);
}
