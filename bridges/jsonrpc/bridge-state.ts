import { randomUUID } from "node:crypto";
import type { JSONRPCError } from "json-rpc-2.0";
import type { Bus } from "../../lib/bus.js";
import { InvalidArgumentError, QueueClosedError } from "../../lib/errors.js";
import { parseIdentifier } from "../../lib/identifier.js";
import type { Message } from "../../lib/message.js";
import { Queue } from "../../lib/queue.js";
import { budgetLedger, QueueBudget } from "../../lib/queue-budget.js";
import { unguessableMessageId } from "../../lib/unguessable-suffix.js";
import { ENVELOPE_LIMITS, fromEnvelope } from "../envelope.js";
import type { CloseReport } from "../link.js";
import { BridgeErrorCode } from "./error-codes.js";
import { UnsendableMessageError } from "../errors.js";
import { unsendable } from "../sendable.js";
import { PeerExpiredError, RpcFault } from "./errors.js";
import { toRpcError } from "./fault.js";
import { LegacyEchoFilter, legacyHop } from "./legacy-echo-filter.js";
import { fromLegacy } from "./legacy-message.js";
import { LegacyPeerLink, type PeerLinkDefaults } from "./legacy-peer-link.js";
import type { LinkStream } from "./link-stream.js";
import { checkPeerUrl } from "./peer-address.js";
import { PeerLink } from "./peer-link.js";
import { type Session, SessionTable } from "./session-table.js";

/** Longest ttl a client may ask for (and the server's defaultTtl), in seconds (~68 years): every token expires. */
export const MAX_TTL = 2_147_483_647;

/** The receiving end of a peer connection: a link that injects what the peer sends. */
export interface PeerEnd {
  accept(frame: unknown): number | undefined;
  acceptMessage(message: Message): number | undefined;
  close(): Promise<CloseReport>;
  /** The `0.3@host:port` hop of a berryMQ 0.3 peer (undefined for a berrymq peer). */
  readonly legacyHop?: string | undefined;
  /** Takes the stream its peer opened, built by `open` only if it does (false: this end takes none). */
  acceptStream?(open: () => LinkStream): boolean;
  /** A local link's server closed: it can receive no more (see PeerLink.serverClosed). */
  serverClosed?(): void;
}

/** The session behind a token. */
export type BridgeSession =
  | { readonly kind: "oneway"; close(): void }
  | { readonly kind: "queue"; readonly queue: Queue; close(): void }
  | { readonly kind: "peer"; readonly link: PeerEnd; readonly name: string; close(): Promise<void> | void };

/** Options of {@link BridgeState}. */
export interface BridgeStateOptions {
  bus: Bus;
  /** Filters of the queues the server owns from the start (shared by every client pulling that filter). */
  queues: readonly string[];
  /** How often expired tokens are swept, in ms. */
  sweepInterval: number;
  /** Options of the links the server opens back to peers that interconnect. */
  peerLink: PeerLinkDefaults;
  /** Secret the server's links back to peers present (the peers' servers may require one). */
  peerSecret: string | undefined;
  /** Hosts besides loopback that `interconnect` may link back to. */
  peerHosts: readonly string[];
  /** Whether the server requires a secret (non-loopback peers need one). */
  secured: boolean;
  /** Most open tokens. */
  maxSessions: number;
  /** Most open links back to peers (interconnect), among the tokens. */
  maxPeers: number;
  /** Seconds of idleness after which a token asked for without a ttl expires. */
  defaultTtl: number;
  /** Most messages a queue session holds. */
  queueSize: number;
  /** Most characters of JSON a queue session holds. */
  queueBytes: number;
  /** Most characters of JSON all the server's queues (sessions and owned) hold together. */
  queueBytesTotal: number;
  /** Most `get` long-polls waiting at once (each holds an HTTP connection). */
  maxWaitingGets: number;
  /** Most `get` long-polls waiting at once on one token. */
  maxWaitingGetsPerSession: number;
  /** Ms within which an echo of a berryMQ 0.3 peer is recognised. */
  legacyEchoWindow: number;
  /** Most envelopes of one `sendAll` (the server's maxBatch). */
  maxBatch: number;
}

/**
 * What a bridge server does, whatever the wire form (berryMQ 0.3 or JSON-RPC 2.0): tokens and their
 * sessions (send-only, queue, peer), sending into the bus, pulling from queues. Only tokens the server
 * issued (or a peer registered through an allowed `interconnect`) are accepted.
 */
export class BridgeState {
  readonly bus: Bus;
  readonly sessions: SessionTable<Session & BridgeSession>;
  /** The filters of the queues the server owns. */
  readonly queueFilters: readonly string[];
  /** Set when the server is closing: long-polls then answer QueueClosed. */
  closing = false;
  readonly #ownQueues: Queue[];
  readonly #options: BridgeStateOptions;
  readonly #budget: QueueBudget;
  /** The get calls waiting for a message now (see maxWaitingGets). */
  #waitingGets = 0;
  #legacySeq = 0;
  // Open links back to peers that called interconnect.
  #peers = 0;

  constructor(options: BridgeStateOptions) {
    this.bus = options.bus;
    this.#options = options;
    this.sessions = new SessionTable(options.sweepInterval, {
      maxSessions: options.maxSessions,
      onExpire: (_token, session, ttl) => {
        // A link back that ends is reported, never cut silently.
        if (session.kind === "peer") this.bus.report(new PeerExpiredError(session.name, ttl));
      },
    });
    // A queue session holds a bounded number of messages, and of characters: 1,000 messages of 1 MiB each (the
    // body limit) held a GiB per session. That alone left maxSessions × queueBytes (10,000 × 16 Mi characters)
    // to one client opening many sessions: queueBytesTotal bounds them all. Isolated: a client's shared
    // queue neither takes from nor is refused by a shared Queue the application opens on the bus.
    this.#budget = new QueueBudget(options.queueBytesTotal, { name: "queueBytesTotal", isolated: true });
    // Shared, so that every client pulling the same filter competes for the messages these collect.
    this.#ownQueues = options.queues.map((filter) => this.#queue(filter, true));
    this.queueFilters = this.#ownQueues.map((queue) => queue.filter);
  }

  /** Style 02: a token to send with. */
  connectOneway(ttl: unknown): string {
    return this.sessions.open({ kind: "oneway", close() {} }, this.#ttl(ttl));
  }

  /**
   * Style 03: a token for a queue of `filter` on this server (bounded by `queueSize`). `shared` makes
   * clients of the filter compete, and a filter the server owns a queue for shares that queue (and what it
   * collected so far); `copy` gives this client a copy of each message even there (`berrymq tail`).
   */
  connectQueue(filter: unknown, ttl: unknown, shared: boolean, copy: boolean): string {
    checkIdentifier("identifier", filter);
    const checked = this.#ttl(ttl);
    this.sessions.checkRoom();
    const owned = this.queueFilters.includes(parseIdentifier(filter).id);
    if (shared && copy) throw new InvalidArgumentError("copy", copy, "false with shared: true (a copy is not shared)");
    // A client asking for its own copy (`berrymq tail`) must not take an owned queue's messages from others.
    const queue = this.#queue(filter, !copy && (shared || owned));
    const close = (): void => void queue.close();
    try {
      return this.sessions.open({ kind: "queue", queue, close }, checked);
    } catch (error) {
      close();
      throw error;
    }
  }

  /**
   * Style 01 (JSON-RPC 2.0): opens the link back to the peer's server at `url` (sending with the peer's
   * `token`); the peer sends here with the token this returns, issued by this server. `instance` tells the
   * peer whether it still reaches the same bus when it interconnects again (see PeerLink).
   */
  interconnect(url: unknown, token: unknown, busId: unknown, ttl: unknown): { busId: string; token: string; instance: string } {
    if (typeof url !== "string" || url.length > 2_048) throw new InvalidArgumentError("url", url, "the peer's bridge server URL");
    checkPeerUrl(url, this.#options.peerHosts, this.#options.secured);
    if (typeof token !== "string" || token.length === 0 || token.length > 256)
      throw new InvalidArgumentError("token", token, "a string of 1 to 256 characters");
    if (typeof busId !== "string" || busId.length === 0 || busId.length > ENVELOPE_LIMITS.messageIdLength)
      throw new InvalidArgumentError("busId", busId, "the peer's bus id");
    const checked = this.#ttl(ttl);
    this.sessions.checkRoom();
    this.#checkPeerRoom();
    const issued = randomUUID();
    const onLost = (): void => void this.sessions.close(issued);
    const link = new PeerLink(
      url,
      { ...this.#options.peerLink, ...this.#secret(), bus: this.bus, name: `peer ${url}` },
      { token, busId, onLost },
    );
    this.#openPeer(link, `peer ${url}`, issued, checked);
    return { busId: this.bus.id, token: issued, instance: instanceOf(this.bus) };
  }

  /**
   * Style 01 (berryMQ 0.3): `interconnect(addr, token, ttl)` with `addr` = `[host, port]`. A 0.3 peer sends
   * with the token it chose, so it is registered here (never replacing an open one); the link back counts
   * each message the peer takes as activity, so a peer that only listens is not expired.
   */
  interconnectLegacy(addr: unknown, token: unknown, ttl: unknown): string {
    if (
      !Array.isArray(addr) ||
      addr.length !== 2 ||
      typeof addr[0] !== "string" ||
      addr[0].length > 255 ||
      !Number.isInteger(addr[1]) ||
      (addr[1] as number) < 1 ||
      (addr[1] as number) > 65_535
    ) {
      throw new InvalidArgumentError("addr", addr, '[host, port], e.g. ["127.0.0.1", 7300]');
    }
    const given = token === null || token === undefined ? randomUUID() : token;
    if (typeof given !== "string" || given.length === 0 || given.length > 256)
      throw new InvalidArgumentError("token", token, "a string of 1 to 256 characters, or null");
    if (this.sessions.has(given)) throw new InvalidArgumentError("token", "(in use)", "a token no open connection uses");
    const checked = this.#ttl(ttl);
    const host = addr[0].includes(":") ? `[${addr[0]}]` : addr[0];
    const url = `http://${host}:${addr[1]}/`;
    checkPeerUrl(url, this.#options.peerHosts, this.#options.secured);
    this.sessions.checkRoom();
    this.#checkPeerRoom();
    const name = `berryMQ 0.3 peer ${url}`;
    const link = new LegacyPeerLink(
      url,
      given,
      {
        hop: legacyHop(addr[0], addr[1] as number),
        echoes: LegacyEchoFilter.of(this.bus, this.#options.legacyEchoWindow),
        onLost: () => void this.sessions.close(given),
        onAlive: () => this.sessions.touch(given),
      },
      { ...this.#options.peerLink, bus: this.bus, name },
    );
    return this.#openPeer(Object.assign(link, { legacyHop: link.hop }), name, given, checked);
  }

  /** Routes a local peer link's incoming messages (its far side sends with `token`). */
  attachPeer(token: string, link: PeerEnd): void {
    // The link belongs to its creator: its route dropped by its own close() leaves it be (it is closing
    // already); the server closing tells it, since it can receive no more. Never expires.
    const close = (): void => link.serverClosed?.();
    this.sessions.open({ kind: "peer", link, name: "local peer link", close }, Number.POSITIVE_INFINITY, token, true);
  }

  /**
   * Hands a new stream (built by `open`) to the link back of the peer that sends with `token` (a token this server issued to
   * a berrymq peer in `interconnect`); false for any other token's connection, which gets no stream.
   * @throws RpcFault for an unknown or expired token.
   */
  attachStream(token: unknown, open: () => LinkStream): boolean {
    const session = this.sessions.use(token);
    return session.kind === "peer" && session.link.acceptStream?.(open) === true;
  }

  /** Delivers an envelope sent with `token`; resolves to how many received it (null: a duplicate). */
  send(token: unknown, envelope: unknown): number | null {
    return this.#send(this.sessions.use(token), envelope);
  }

  #send(session: Session & BridgeSession, envelope: unknown): number | null {
    if (session.kind === "queue") throw wrongKind(session.kind, "send");
    // Once this bus has a 0.3 peer, a message may be (or meet) a 0.3 node's echo with a new messageId.
    const echoes = LegacyEchoFilter.find(this.bus);
    if (echoes === undefined) {
      if (session.kind === "peer") return session.link.accept(envelope) ?? null;
      return this.bus.inject(checkUnaddressed(fromEnvelope(envelope))) ?? null;
    }
    const message = fromEnvelope(envelope);
    if (session.kind !== "peer") checkUnaddressed(message);
    if (echoes.isEcho(message)) return null;
    if (session.kind === "peer") return session.link.acceptMessage(message) ?? null;
    return this.bus.inject(message) ?? null;
  }

  /**
   * Delivers envelopes sent with `token`, in order (`berrymq.sendAll`: a link's whole batch in one call).
   * @returns one entry per envelope: what `send` returns, or `{ error }` for an envelope it refused.
   * @throws RpcFault for an unknown or expired token, or more envelopes than `maxBatch`.
   */
  sendAll(token: unknown, envelopes: unknown): (number | null | { error: JSONRPCError })[] {
    const deliver = this.takeAll(token, envelopes);
    return deliver(0, (envelopes as unknown[]).length);
  }

  /**
   * `sendAll` in two steps, for a link stream that delivers a large batch in parts: checks the batch as a
   * whole (token, bound) and returns what delivers its envelopes `start` to `end`, to the session found
   * now (even once it closed: what the stream acknowledged is delivered).
   * @throws RpcFault for an unknown or expired token, or more envelopes than `maxBatch`.
   */
  takeAll(token: unknown, envelopes: unknown): (start: number, end: number) => (number | null | { error: JSONRPCError })[] {
    if (!Array.isArray(envelopes)) throw new InvalidArgumentError("envelopes", envelopes, "an array of envelopes");
    const max = this.#options.maxBatch;
    if (envelopes.length > max) {
      throw new RpcFault(BridgeErrorCode.LimitExceeded, `${envelopes.length} envelopes: at most ${max} (the maxBatch option)`);
    }
    // Looked up once for the whole batch.
    const session = this.sessions.use(token);
    return (start, end) => {
      const results: (number | null | { error: JSONRPCError })[] = new Array(end - start);
      for (let i = start; i < end; i++) {
        try {
          results[i - start] = this.#send(session, envelopes[i]);
        } catch (error) {
          results[i - start] = { error: toRpcError(error) };
        }
      }
      return results;
    };
  }

  /** Delivers a message given as identifier, args and kwargs (berryMQ 0.3 `send_message`, `berrymq.twitter`). */
  sendPlain(token: unknown, identifier: unknown, args: unknown, kwargs: unknown): number | null {
    const session = this.sessions.use(token);
    if (session.kind === "queue") throw wrongKind(session.kind, "send");
    checkIdentifier("identifier", identifier);
    const legacyPeer = session.kind === "peer" ? session.link.legacyHop : undefined;
    // The origin names this server, never the token (tokens are credentials, messages travel on).
    const origin = `client@${this.bus.id}`;
    const hops = legacyPeer === undefined ? [origin] : [legacyPeer, origin];
    // Unguessable: whoever saw one (on any link it travels) could send junk under the next ones first and
    // have the real ones dropped as duplicates; and a restarted server would start again at 1.
    const message = fromLegacy(identifier, args, kwargs, unguessableMessageId(origin, ++this.#legacySeq), hops);
    if (legacyPeer !== undefined && LegacyEchoFilter.of(this.bus, this.#options.legacyEchoWindow).isEcho(message)) return null;
    if (session.kind === "peer") return session.link.acceptMessage(message) ?? null;
    return this.bus.inject(message) ?? null;
  }

  /**
   * Waits up to `timeout` ms (undefined: until a message or abort) for a message of the token's queue.
   * Messages JSON cannot carry are reported and skipped (see `#sendable`); `envelopeLimits` false for a
   * berryMQ 0.3 client, which takes an identifier of any length (and no hops).
   */
  async get(token: unknown, timeout: number | undefined, signal: AbortSignal | undefined, envelopeLimits = true): Promise<Message> {
    const queue = this.#queueOf(token);
    // A message already queued is answered at once; only a wait holds a connection, and only so many may:
    // so many on the whole server, and fewer on one token, so that one client cannot take them all.
    if (timeout !== 0 && queue.qsize() === 0) {
      const { maxWaitingGets, maxWaitingGetsPerSession } = this.#options;
      if (this.sessions.holds(token as string) >= maxWaitingGetsPerSession) {
        throw tooManyWaiting("get calls waiting on this token", maxWaitingGetsPerSession, "maxWaitingGetsPerSession");
      }
      if (this.#waitingGets >= maxWaitingGets) throw tooManyWaiting("get calls waiting", maxWaitingGets, "maxWaitingGets");
    }
    this.#waitingGets++;
    // A client waiting here is not idle: its token must not expire under the wait (ttl < timeout). The
    // hold also counts the token's waits (see maxWaitingGetsPerSession).
    const release = this.sessions.hold(token as string);
    const deadline = timeout === undefined ? undefined : performance.now() + timeout;
    try {
      for (;;) {
        const left = deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
        const message = await queue.get({ ...(left === undefined ? {} : { timeout: left }), ...(signal === undefined ? {} : { signal }) });
        if (this.#sendable(message, queue, envelopeLimits)) return message;
      }
    } catch (error) {
      // The server closing ended the wait: the queue is closed, not broken.
      if (this.closing) throw new QueueClosedError(queue.filter);
      throw error;
    } finally {
      this.#waitingGets--;
      release();
    }
  }

  /** The oldest message of the token's queue JSON can carry, at once (QueueEmptyError when none). */
  getNowait(token: unknown, envelopeLimits = true): Message {
    const queue = this.#queueOf(token);
    for (;;) {
      const message = queue.getNowait();
      if (this.#sendable(message, queue, envelopeLimits)) return message;
    }
  }

  // A local message in a queue session may hold what JSON cannot carry (a BigInt, a cycle, NaN): its
  // answer failed as a whole (-32603, a batch's other messages lost with it) or changed it (NaN as null).
  // It is reported and skipped, as a link drops what it cannot send.
  #sendable(message: Message, queue: Queue, envelopeLimits: boolean): boolean {
    const why = unsendable(message, envelopeLimits);
    if (why === undefined) return true;
    this.bus.report(new UnsendableMessageError(`queue session "${queue.filter}"`, message, why));
    return false;
  }

  /**
   * Counts an answer of `size` characters against queueBytesTotal until the returned function is called
   * (once it is sent, or its connection is gone). The messages it took from queues were counted there; held
   * in an answer a client does not read, they were not: a 1 MB message copied to 128 queues and taken by
   * one batch held 128 MB per such connection, again for each message (past 30 GB with maxConnections).
   */
  holdAnswer(size: number): () => void {
    const ledger = budgetLedger(this.#budget);
    ledger.held += size;
    let held = true;
    return () => {
      if (held) ledger.held -= size;
      held = false;
    };
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
    this.closing = true;
    await this.sessions.closeAll();
    for (const queue of this.#ownQueues) queue.close();
  }

  #openPeer(link: PeerEnd, name: string, token: string, ttl: number): string {
    let open = true;
    const opened = this.sessions.open(
      {
        kind: "peer",
        link,
        name,
        close: async () => {
          if (open) this.#peers--;
          open = false;
          await link.close();
        },
      },
      ttl,
      token,
    );
    this.#peers++;
    return opened;
  }

  // A link back costs far more than a token (sockets, a ping timer, a buffer of up to bufferSize messages):
  // maxSessions of them was tens of thousands of sockets and pings to wherever callers pointed them.
  #checkPeerRoom(): void {
    const max = this.#options.maxPeers;
    if (this.#peers >= max) {
      throw new RpcFault(BridgeErrorCode.LimitExceeded, `too many peer links (${max}, the maxPeers option): close some or wait for their ttl`);
    }
  }

  // A queue of `filter`, bounded by queueSize and queueBytes, and with the server's other queues by queueBytesTotal.
  #queue(filter: string, shared: boolean): Queue {
    const { bus, queueSize, queueBytes } = this.#options;
    return new Queue(filter, { bus, shared, maxsize: queueSize, maxBytes: queueBytes, budget: this.#budget });
  }

  #queueOf(token: unknown): Queue {
    const session = this.sessions.use(token);
    if (session.kind !== "queue") throw wrongKind(session.kind, "get");
    return session.queue;
  }

  #secret(): { secret?: string } {
    return this.#options.peerSecret === undefined ? {} : { secret: this.#options.peerSecret };
  }

  // Every token expires: none, null or 0 (0.3's "never") gets the server's default ttl.
  #ttl(ttl: unknown): number {
    if (ttl === null || ttl === undefined || ttl === 0) return this.#options.defaultTtl;
    // Bounded: 1e308 s is finite, but its ms are not, and such a token would never expire.
    if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0 || ttl > MAX_TTL)
      throw new InvalidArgumentError("ttl", ttl, `seconds > 0 and at most ${MAX_TTL}, or null for the server's default`);
    return ttl;
  }
}

function checkIdentifier(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || value.length > ENVELOPE_LIMITS.identifierLength)
    throw new InvalidArgumentError(
      name,
      typeof value === "string" ? `(${value.length} characters)` : value,
      `a string of at most ${ENVELOPE_LIMITS.identifierLength} characters such as "app:log"`,
    );
}

// A send-only client receives nothing, so it answers no request: an envelope of its with `to` or
// `inReplyTo` could only pose as another process's answer (settling a request it never saw).
function checkUnaddressed(message: Message): Message {
  if (message.to !== undefined || message.inReplyTo !== undefined) {
    throw new RpcFault(
      BridgeErrorCode.Forbidden,
      "a send-only connection sends no answers and no addressed messages (to, inReplyTo): link with a PeerLink",
    );
  }
  return message;
}

function wrongKind(kind: string, what: string): RpcFault {
  return new RpcFault(BridgeErrorCode.WrongConnection, `a ${kind} connection's token cannot ${what}`);
}

/** The −32010 answer of a long-poll past one of its bounds, naming the option. */
function tooManyWaiting(what: string, max: number, option: string): RpcFault {
  return new RpcFault(BridgeErrorCode.LimitExceeded, `too many ${what} (${max}, the ${option} option): retry later, or call getNowait`);
}

// A random id of each bus this process serves, in `berrymq.interconnect` answers: a peer that interconnects
// again and gets another one knows that the bus which took its requests is gone (the process restarted),
// and the same one that they may still be answered (the server only dropped its token, or was restarted
// over the same bus). Older peers ignore the field.
const instances = new WeakMap<Bus, string>();

function instanceOf(bus: Bus): string {
  let instance = instances.get(bus);
  if (instance === undefined) {
    instance = randomUUID();
    instances.set(bus, instance);
  }
  return instance;
}
