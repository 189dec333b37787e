import { EventEmitter } from "eventemitter3";
import { answerRefused, answerUndeliverable, type Bus } from "../lib/bus.js";
import { defaultBus } from "../lib/default-bus.js";
import { type BerryError, BusClosedError, emitError, InvalidArgumentError, type LinkLostError } from "../lib/errors.js";
import { Fifo } from "../lib/fifo.js";
import { DEFAULT_NAMESPACE, type Identifier, isLocal, matches, parseIdentifier, partMatches } from "../lib/identifier.js";
import { checkTimerDelay } from "../lib/long-timer.js";
import { createMessage, type Message } from "../lib/message.js";
import { LINK_CONTROL_NAME, NEIGHBOURS_ID, REPLY_NAME, replyIdentifierFor } from "../lib/reserved.js";
import { type RequestTable, requestTableOf } from "../lib/request.js";
import { RESOLVED } from "../lib/resolved.js";
import { type Envelope, fromEnvelope, toEnvelope } from "./envelope.js";
import { LinkDownError, LinkListenerError, LinkOverflowError, LinkUndeliveredError, UnsendableMessageError } from "./errors.js";
import { type LinkTable, linkTableOf, NEIGHBOURS_LIMIT, type Neighbour, type RoutedLink } from "./link-table.js";
import { SchemaGate } from "./schema-check.js";
import { unsendable } from "./sendable.js";

/** Options every link takes. */
export interface LinkOptions {
  /** Local bus (default: `defaultBus`). */
  bus?: Bus;
  /** Name used in errors and logs. */
  name?: string;
  /** Only messages matching one of these are forwarded (default `["*:*"]`). */
  exportFilters?: readonly string[];
  /**
   * Only received messages matching one of these are injected (default `["*:*"]`); transports that can
   * subscribe at the far side subscribe to exactly these. `"followers"`: whatever the bus's followers and
   * queues follow, kept up to date as they come and go. Changeable later with `subscribe`/`unsubscribe`.
   * Answers to this bus's requests (`berrymq-reply:<bus id>`) come in whatever the filters: transports
   * subscribe to them too, without adding them to `importFilters`.
   */
  importFilters?: readonly string[] | "followers";
  /** Messages kept while the far side is down; past this, new ones are dropped and reported (default 10,000). */
  bufferSize?: number;
  /**
   * Characters of the kept messages' args and kwargs as JSON writes them, estimated without writing them
   * (a string's length plus 2, 8 per number, 1 to 5 per other value and key); past this, new ones are
   * dropped and reported as past `bufferSize` (default 64 Mi, 67,108,864). A message larger than this alone
   * is kept only while nothing else is (the transport's own limit decides whether it can be carried).
   */
  bufferBytes?: number;
  /**
   * Most messages handed to the transport at once (default 1,000), a neighbour list that goes with them
   * counted (as a far server's `maxBatch` counts it).
   */
  maxBatch?: number;
  /**
   * Retry backoff in ms: starts at `initial`, doubles up to `max` (default 50 → 1,000, so a far side that
   * comes back is found within a second; a frame received from it ends the wait at once).
   */
  retryDelay?: { initial: number; max: number };
  /** How long `close()` keeps trying to deliver what is buffered, in ms (default 2,000). */
  closeTimeout?: number;
}

/** Counters of a link. */
export interface LinkStats {
  /** Messages the transport accepted. */
  sent: number;
  /** Messages received and injected into the local bus. */
  received: number;
  /** Received messages dropped because this bus had seen them already. */
  duplicates: number;
  /** Outgoing messages dropped because the buffer was full. */
  dropped: number;
  /** Failed transmissions that were retried. */
  retries: number;
  /**
   * Frames refused as invalid (bad envelopes, and payloads the bus's schemas refused), and messages that
   * arrived once the bus was closed (the first is reported and the link closes itself).
   */
  rejected: number;
  /**
   * Messages counted in `sent` that the transport learned afterwards it lost, each reported on the `error`
   * event (a RedisLink's PUBLISH refused by Redis after its batch went without replies).
   */
  lost: number;
  /**
   * Requests of this bus (`request`, `ask`, stubs) taken out of the buffer unsent because they had ended:
   * timed out, aborted, or answered in full, so that nobody waits for their answers (not reported: see
   * `#ended`). A `talk()` is always sent: its answers go on to its callback identifier's followers.
   */
  ended: number;
}

/** Events of a link. */
export interface LinkEvents {
  /** Overflow, an unreachable far side (once per outage), invalid frames, undelivered messages at close. */
  error: [error: BerryError];
  /**
   * The far side accepted messages again after an outage; with nothing left to send (what waited ended), it
   * took the link's probe (its neighbour list), or, for a link that sends none, a frame came from it.
   */
  up: [];
  /** The far side became unreachable; the link buffers and retries. */
  down: [error: BerryError];
}

/** What `close()` reports. */
export interface CloseReport {
  /** Messages that were never delivered. */
  undelivered: Message[];
}

/**
 * Base of every transport's link: forwards dispatched messages matching the export filters, in order and
 * batched per tick; injects received ones (validated, de-duplicated by messageId, never echoed back);
 * buffers (bounded) and retries with backoff while the far side is down; `close()` flushes.
 * Answers (`inReplyTo`, addressed with `to`) are routed: only the link toward the asking bus carries
 * them. In a mesh, a message is not forwarded to a bus its previous sender links to itself.
 * A transport implements `transmit` (and optionally `closeTransport`) and calls `receive`.
 */
export abstract class Link extends EventEmitter<LinkEvents> implements RoutedLink {
  readonly bus: Bus;
  readonly name: string;
  readonly stats: LinkStats = { sent: 0, received: 0, duplicates: 0, dropped: 0, retries: 0, rejected: 0, lost: 0, ended: 0 };
  #remoteBusId: string | undefined;
  readonly #table: LinkTable;
  #controlSeq = 0;
  // The latest neighbour list to tell the far side: sent ahead of the next batch (not counted in it).
  #announcement: Message | undefined;
  // The list last announced (`args[0]` of the message): told again as the probe of a link down with nothing
  // left to send (see #probe).
  #neighbourList: unknown[] | undefined;
  // A neighbour list that came before the transport knew the far bus's id: applied once it does.
  #earlyControl: Message | undefined;
  readonly #exportFilters: Identifier[];
  readonly #importFilters: Identifier[];
  readonly #followBus: boolean;
  // Set once `subscribe`/`unsubscribe` changed the import filters of a "followers" link by hand: they are
  // no longer just what the bus follows (see `followers`).
  #byHand = false;
  readonly #replies: Identifier;
  // The bus's requests and the identifier their answers come under (see #ended).
  readonly #requests: RequestTable | undefined;
  readonly #replyId: string;
  // Requests of this bus in `#pending` (see #own), and the table's `finished` when `#pending`, and the batch
  // in flight, were last looked through for requests that ended (see #purgeEnded; -1: a batch not yet).
  #ownPending = 0;
  #pendingPurgedAt = 0;
  #inflightPurgedAt = -1;
  readonly #bufferSize: number;
  readonly #bufferBytes: number;
  // What the buffered messages count against bufferBytes (see jsonSize): those of `#pendingSizes` (one
  // per message of `#pending`, in order) and `#inflightBytes`.
  #bufferedBytes = 0;
  readonly #pendingSizes = new Fifo<number>();
  #inflightBytes = 0;
  readonly #maxBatch: number;
  readonly #retry: { initial: number; max: number };
  readonly #closeTimeout: number;
  readonly #pending = new Fifo<Message>();
  // The messageId this link is injecting right now: the bus's `message` event for it, which comes
  // synchronously from inside the injection, is not forwarded back. (A ring of every arrived id did
  // this at the cost of two hash look-ups per message.)
  #arriving: string | undefined;
  readonly #schemas: SchemaGate;
  #inflight: readonly Message[] = NONE;
  #scheduled = false;
  // A batch is with the transport, or the loop waits out a retry backoff; `#idle` hears when it stops.
  #running = false;
  #idle: (() => void)[] = [];
  // The announcement that went with the batch in flight (cleared once that batch was taken).
  #announced: Message | undefined;
  #delay = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #down = false;
  #started = false;
  // `startedAt`: when the link started, moved at a loss of its far side (to its oldest buffered request).
  #carriesSince = Number.POSITIVE_INFINITY;
  #closing = false;
  // close()'s promise, for every call.
  #closeCall: Promise<CloseReport> | undefined;
  // A transport probe is under way (see #askTransport).
  #probing = false;
  // The answers this link took to send on every link (no way back known) and has neither sent nor dropped.
  #unrouted: Set<string> | undefined;
  // Set once close() gave up on the buffer: the flush loop stops instead of retrying on.
  #closed = false;
  readonly #onMessage = (message: Message): void => this.#forward(message);
  // The send loop is callbacks rather than an async function: a round trip at one request in flight
  // made an async function's promise, an await and a `finally` per batch on each side, and a
  // queueMicrotask (an AsyncResource and a bound function) per tick.
  readonly #kick = (): void => {
    this.#scheduled = false;
    if (!this.#running) this.#pump();
  };
  readonly #pumpNext = (): void => this.#pump();
  readonly #onSent = (): void => this.#sent();
  readonly #onFailed = (error: unknown): void => this.#failed(error);
  // Bound once: a closure per received message was an allocation on the receive path.
  readonly #injectValid = (message: Message): number | undefined => this.#inject(message);
  readonly #onFollow = (pattern: Identifier): void => {
    this.#subscribe(pattern.id, false).catch((error: unknown) => this.#report(error as BerryError));
  };
  readonly #onUnfollow = (pattern: Identifier): void => {
    this.#unsubscribe(pattern.id, false).catch((error: unknown) => this.#report(error as BerryError));
  };

  /**
   * Attaches to the bus (with `importFilters: "followers"`, to its follow and unfollow events) once
   * `options` are checked. A subclass checks its own options before calling `super()`, so that a bad one
   * throws before anything is attached; what can only fail after (opening a client) calls `abandon()`.
   */
  constructor(options: LinkOptions = {}) {
    super();
    this.bus = options.bus ?? defaultBus;
    this.name = options.name ?? new.target.name;
    this.#exportFilters = (options.exportFilters ?? ["*:*"]).map((filter) => parseIdentifier(filter));
    this.#followBus = options.importFilters === "followers";
    this.#replyId = replyIdentifierFor(this.bus.id);
    this.#replies = parseIdentifier(this.#replyId);
    this.#requests = requestTableOf(this.bus);
    this.#importFilters =
      options.importFilters === "followers"
        ? this.bus.patterns()
        : (options.importFilters ?? ["*:*"]).map((filter) => parseIdentifier(filter));
    this.#bufferSize = positiveInteger("bufferSize", options.bufferSize ?? 10_000);
    this.#bufferBytes = positiveInteger("bufferBytes", options.bufferBytes ?? 64 * 1024 * 1024);
    this.#maxBatch = positiveInteger("maxBatch", options.maxBatch ?? 1_000);
    this.#retry = options.retryDelay ?? { initial: 50, max: 1_000 };
    checkTimerDelay("retryDelay.initial", this.#retry.initial);
    checkTimerDelay("retryDelay.max", this.#retry.max);
    this.#closeTimeout = checkTimerDelay("closeTimeout", options.closeTimeout ?? 2_000, 0);
    this.#delay = this.#retry.initial;
    // Only once every option is checked: a constructor that throws leaves no listener on the bus.
    if (this.#followBus) {
      this.bus.on("follow", this.#onFollow);
      this.bus.on("unfollow", this.#onUnfollow);
    }
    this.#schemas = new SchemaGate(this.bus, (error, refused) => {
      this.stats.rejected++;
      this.#report(error);
      // A refused request the bus would have answered: its asker hears why, rather than waiting out its
      // timeout; the error answer goes back through this link, as an answer to a request it brought.
      if (refused !== undefined && answerRefused(this.bus, refused, error))
        this.#table.requestCameThrough(refused.messageId, this);
    });
    this.#table = linkTableOf(this.bus);
  }

  /**
   * For a subclass constructor that fails after `super()`: takes off the bus what this constructor put on
   * it (and what `start()` did), so the half-built link neither leaks nor keeps receiving.
   */
  protected abandon(): void {
    this.#closing = true;
    if (this.#started) {
      this.#table.remove(this);
      this.bus.off("message", this.#onMessage);
    }
    this.bus.off("follow", this.#onFollow);
    this.bus.off("unfollow", this.#onUnfollow);
  }

  /**
   * Id of the bus on the far side, when the transport knows it (one far bus): messages that passed
   * through it are not sent back, answers for it go this way, and the two sides tell each other their
   * neighbours so a mesh forwards each message over each link at most once.
   */
  protected get remoteBusId(): string | undefined {
    return this.#remoteBusId;
  }

  protected set remoteBusId(id: string | undefined) {
    if (id === this.#remoteBusId) return;
    this.#remoteBusId = id;
    const early = this.#earlyControl;
    this.#earlyControl = undefined;
    if (early !== undefined) this.#control(early);
    if (this.#started) this.#table.linked(this);
  }

  /**
   * Whether the far side understands the Link's control messages (neighbour lists). A transport to a peer
   * that would take them for ordinary messages (a berryMQ 0.3 node) says no: it is then routed to like
   * a bus that announced nothing.
   */
  protected get carriesControl(): boolean {
    return true;
  }

  /**
   * Whether the far side takes berrymq envelopes, and their limits (an identifier of at most 1,024
   * characters, at most 64 hops: see `unsendable`). A transport to a berryMQ 0.3 peer, which takes an
   * identifier of any length and no hops, says no.
   */
  protected get carriesEnvelopes(): boolean {
    return true;
  }

  /** Id of the far bus, when this link reaches exactly one (see `remoteBusId`). */
  get linkedBusId(): string | undefined {
    return this.#remoteBusId;
  }

  /** Whether `close()` was called. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Whether `close()` is past its flush: what was buffered then is reported undelivered, so a transport
   * must not send it after all (a fallback started by the transport's own close, say).
   */
  protected get closed(): boolean {
    return this.#closed;
  }

  /**
   * When the link started forwarding (performance.now() ms; Infinity before), or, once it lost its far
   * side (see `farSideLost`), when the oldest request still in its buffer then was opened, or the loss if
   * none was: the other requests opened before went to a far side that is gone.
   */
  get startedAt(): number {
    return this.#carriesSince;
  }

  /** The export filters, parsed. */
  get exports(): readonly Identifier[] {
    return this.#exportFilters;
  }

  /**
   * Tells the far bus this bus's neighbours (called by the bus's link table): a control message that
   * goes ahead of the next batch, is retried with it, and is never injected at the far side. Only the
   * latest list is kept; it takes no room in the buffer and is not counted in `stats`.
   */
  announce(neighbours: readonly Neighbour[]): void {
    if (this.#closing || !this.carriesControl) return;
    // What this bus takes from each neighbour goes too (at most as many filters as a receiver reads: one
    // cut off only makes it forward more): a neighbour must not count on another sending us what our link
    // to that one does not take.
    const list = neighbours.slice(0, NEIGHBOURS_LIMIT).map((n) => {
      const entry: { bus: string; exports: string[]; imports?: string[]; followers?: true } = {
        bus: n.bus,
        exports: n.exports.map((e) => e.id),
      };
      if (n.imports !== undefined) entry.imports = n.imports.slice(0, FILTERS_LIMIT).map((e) => e.id);
      if (n.followers === true) entry.followers = true;
      return entry;
    });
    this.#neighbourList = list;
    this.#announcement = this.#neighbours(list);
    this.#schedule();
  }

  #neighbours(list: unknown[]): Message {
    return createMessage({
      identifier: NEIGHBOURS_ID,
      args: [list],
      messageId: `${this.bus.id}/${LINK_CONTROL_NAME}-${this.name}-${++this.#controlSeq}`,
      hops: [this.bus.id],
    });
  }

  /**
   * Takes an answer the bus held while it had no link open (see LinkTable), now that this link leads to
   * its asker: sent like any answer (an error answer goes instead if this link cannot carry it). False
   * when this link does not take it: closing, or its export filters refuse a `talk()` callback.
   */
  carryHeld(answer: Message): boolean {
    if (this.#closing || (answer.name !== REPLY_NAME && !matchesAny(this.#exportFilters, answer))) return false;
    this.#enqueue(answer);
    return true;
  }

  /**
   * For a transport whose far side refused a message of the batch in flight for good (larger than it
   * takes: an HTTP 413 for that message alone): dropped like any message this link cannot carry (counted,
   * reported as UnsendableMessageError caused by `why`); an answer's asker gets an error answer instead of
   * waiting out its timeout, a request of this bus no other link carries rejects. A message not in flight
   * (the neighbour list) is only counted and reported (`why`).
   */
  protected refusedForGood(messageId: string, why: BerryError): void {
    const inflight = this.#inflight;
    for (let i = 0; i < inflight.length; i++) {
      const message = inflight[i] as Message;
      if (message.messageId !== messageId) continue;
      // Out of the batch in flight: a retry of the batch (a later half failed) must not drop it, and send
      // its error answer, a second time; nor is it counted as sent.
      this.#keepInflight([...inflight.slice(0, i), ...inflight.slice(i + 1)]);
      this.#drop(message, new UnsendableMessageError(this.name, message, why));
      return;
    }
    this.stats.dropped++;
    this.#report(why);
  }

  /**
   * For a transport that sends the batch in flight in parts (the halves of a batch the far side refused as
   * too large, a berryMQ 0.3 peer's one call a message): the far side answered for the messages of `part`,
   * so they leave the batch in flight, counted as sent (`counted`; not for one it refused, which the
   * transport counted dropped): a retry of the batch (a later part failed) does not send them again, and
   * `close()` does not report them undelivered. Envelopes not in the batch in flight (the neighbour list;
   * everything once closed) are passed over, but for the neighbour list, which is not sent again either.
   */
  protected partSent(part: readonly Envelope[], counted = true): void {
    if (this.#closed || part.length === 0) return;
    const inflight = this.#inflight;
    // A part answered for is the front of the batch in flight (halves in order, a 0.3 peer's messages one by
    // one): taken off at once, not looked up message by message (which made a 0.3 batch O(n²)).
    let front = 0;
    while (front < part.length && inflight[front]?.messageId === part[front]?.messageId) front++;
    let taken: readonly Message[];
    let kept: Message[];
    if (front === part.length) {
      taken = inflight.slice(0, front);
      kept = inflight.slice(front);
    } else {
      const ids = new Set<string>();
      for (const envelope of part) ids.add(envelope.messageId);
      if (this.#announced !== undefined && ids.has(this.#announced.messageId)) {
        if (this.#announcement === this.#announced) this.#announcement = undefined;
        this.#announced = undefined;
      }
      taken = inflight.filter((message) => ids.has(message.messageId));
      kept = inflight.filter((message) => !ids.has(message.messageId));
    }
    if (taken.length === 0) return;
    const mine = this.#unrouted;
    for (const message of taken) if (mine?.delete(message.messageId) === true) this.#table.carried(message.messageId);
    if (counted) this.stats.sent += taken.length;
    this.#keepInflight(kept, taken);
  }

  /** Messages waiting to be sent (including a batch in flight). */
  get backlog(): number {
    return this.#pending.length + this.#inflight.length;
  }

  /** Whether the far side is currently unreachable: it refused a send, and has not answered since (see `up`). */
  get isDown(): boolean {
    return this.#down;
  }

  /** The import filters, parsed (what the link takes from its far side; answers to this bus aside). */
  get imports(): readonly Identifier[] {
    return this.#importFilters;
  }

  /**
   * Whether the import filters are what the bus's followers and queues follow (`importFilters: "followers"`,
   * not changed by hand since): all such links of a bus take the same messages at every moment.
   */
  get followers(): boolean {
    return this.#followBus && !this.#byHand;
  }

  /** The current import filters, as canonical identifiers. */
  get importFilters(): readonly string[] {
    return this.#importFilters.map((filter) => filter.id);
  }

  /**
   * What a transport subscribes to at the far side: the import filters, plus `berrymq-reply:<this bus id>`
   * unless one of them already covers it, because answers to this bus's requests must come in whatever
   * the filters.
   */
  protected get subscriptionFilters(): readonly string[] {
    const filters = this.importFilters;
    const replies = this.#replies;
    const covered = this.#importFilters.some(
      (filter) => partMatches(filter.name, replies.name) && partMatches(filter.action, replies.action),
    );
    return covered ? filters : [...filters, replies.id];
  }

  /**
   * Starts importing messages that match `filter`; the transport subscribes to it at the far side where it
   * can. Resolves once the far side has it; does nothing for a filter already in place.
   * @example await link.subscribe("orders:*");
   */
  async subscribe(filter: string): Promise<void> {
    return this.#subscribe(filter, true);
  }

  async #subscribe(filter: string, byHand: boolean): Promise<void> {
    const parsed = parseIdentifier(filter);
    if (byHand && this.#followBus) this.#byHand = true;
    if (this.#importFilters.some((known) => known.id === parsed.id)) return;
    this.#importFilters.push(parsed);
    // The neighbours learn what this bus takes from each (see #sentAlready).
    this.#table.changed();
    await this.importFiltersChanged([parsed], []);
  }

  /**
   * Stops importing messages that match `filter` (exactly this filter; others that overlap stay).
   * @returns whether it was an import filter.
   */
  async unsubscribe(filter: string): Promise<boolean> {
    return this.#unsubscribe(filter, true);
  }

  async #unsubscribe(filter: string, byHand: boolean): Promise<boolean> {
    const id = parseIdentifier(filter).id;
    if (byHand && this.#followBus) this.#byHand = true;
    const at = this.#importFilters.findIndex((known) => known.id === id);
    if (at === -1) return false;
    const [removed] = this.#importFilters.splice(at, 1) as [Identifier];
    this.#table.changed();
    await this.importFiltersChanged([], [removed]);
    return true;
  }

  /**
   * Called after `subscribe`/`unsubscribe` changed the import filters: transports that subscribe at the far
   * side (Redis PSUBSCRIBE, the ZeroMQ broker) apply the change there. `importFilters` is already updated.
   */
  protected async importFiltersChanged(_added: readonly Identifier[], _removed: readonly Identifier[]): Promise<void> {}

  /**
   * Sends one batch of envelopes; resolves (to anything) once the far side took them, rejects when it did
   * not (they are retried).
   */
  protected abstract transmit(batch: Envelope[]): Promise<unknown>;

  /**
   * Sends one batch like `transmit`, telling the outcome through `sent` and `failed` rather than a Promise;
   * false when it cannot take this batch now (`transmit` then sends it). A transport whose batches are
   * acknowledged by a frame it reads (PeerLink's stream) spares a Promise, a `then` and a microtask job
   * per batch this way. Exactly one of the two is called, once, and not before this returns. None by default.
   */
  protected transmitWith(_batch: Envelope[], _sent: () => void, _failed: (error: unknown) => void): boolean {
    return false;
  }

  /** Releases the transport's sockets and timers; called once by `close()` after the flush. */
  protected async closeTransport(): Promise<void> {}

  /**
   * Asks the far side whether it would take a batch now, sending no message (a Redis PING, the broker's
   * welcome): resolves when it answers, rejects when it does not. A link down with nothing left to send
   * and no neighbour list to probe with asks it, with the backoff of its retries, and tells `up` once it
   * resolves. `undefined` (the default): the transport has no such question, and a frame from the far
   * side tells `up` instead.
   */
  protected probeTransport(): Promise<unknown> | undefined {
    return undefined;
  }

  /**
   * For a transport whose own liveness check (a berryMQ 0.3 peer's probe) found its far side silent while
   * nothing was being sent: the link goes down as a failed batch makes it (`down`, a LinkDownError
   * reported), then asks `probeTransport` with the backoff of its retries and tells `up` once it answers.
   * Without it a quiet link to a dead far side stayed up until its bus sent. Nothing while a batch is on its
   * way or due (its outcome tells), when already down, or once `close()` was called.
   */
  protected transportDown(error: unknown): void {
    if (this.#down || this.#closing || this.#running || this.#scheduled || !this.#started) return;
    this.#down = true;
    const down = new LinkDownError(this.name, error);
    this.#tell("down", () => this.emit("down", down));
    this.#report(down);
    this.#probeLater();
  }

  /** Starts forwarding the bus's messages; transports call it once they can send. */
  protected start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#carriesSince = performance.now();
    this.bus.on("message", this.#onMessage);
    this.#table.add(this);
  }

  /**
   * Takes a frame from the far side: validates it, applies the import filters, drops duplicates and
   * injects it into the local bus.
   * @returns how many followers and queues received it; `undefined` for a duplicate or filtered message.
   * @throws InvalidEnvelopeError (or InvalidIdentifierError) for a bad frame, after counting it.
   */
  protected receive(frame: unknown): number | undefined {
    return this.receiveMessage(this.#parse(frame));
  }

  /** Like `receive`, for a message the transport already built. */
  protected receiveMessage(message: Message): number | undefined {
    if (this.bus.closed) return this.#busClosed();
    if (!this.#admits(message)) return undefined;
    const reached = this.#schemas.pass(message, this.#injectValid);
    return typeof reached === "number" ? reached : undefined;
  }

  // inject itself drops a duplicate (returning undefined), so the bus is asked once, not twice.
  #inject(message: Message): number | undefined {
    const outer = this.#arriving;
    this.#arriving = message.messageId;
    let reached: number | undefined;
    try {
      reached = this.bus.inject(message);
    } finally {
      this.#arriving = outer;
    }
    if (reached === undefined) this.stats.duplicates++;
    else this.#arrivedNew(message);
    return reached;
  }

  // Like #inject's marking (see #arriving), around the synchronous part of `injectSettled`.
  #injectSettled(message: Message): Promise<number | undefined> {
    const outer = this.#arriving;
    this.#arriving = message.messageId;
    try {
      return this.bus.injectSettled(message);
    } finally {
      this.#arriving = outer;
    }
  }

  /**
   * Like `receive`, but resolves once the followers it reached have finished (async ones included):
   * for transports that acknowledge a message only after it was handled.
   */
  protected receiveSettled(frame: unknown): Promise<number | undefined> {
    // Not `async`: its wrapper promise (and two ticks) per message was a share of the acknowledged
    // path's GC. A native promise passes Promise.resolve as it is; a throw still becomes a rejection.
    try {
      const message = this.#parse(frame);
      // Not acknowledged: the far side keeps it (a broker resends it elsewhere or dead-letters it at expiry).
      if (this.bus.closed) return Promise.resolve(this.#busClosed());
      if (!this.#admits(message)) return Promise.resolve(undefined);
      return Promise.resolve(
        this.#schemas.pass(message, (valid) => (this.#accepts(valid) ? this.#injectSettled(valid) : undefined)),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // A message that arrived for a closed bus (closed before this link): no follower can ever get it. Each is
  // counted in `rejected`; the first is reported, once, and the link closes itself. Before, a busy prefix made
  // one BusClosedError report (a process warning: a closed bus has no listeners) per frame, and the link's
  // connections held the process.
  #busClosed(): undefined {
    this.stats.rejected++;
    if (this.#closing) return undefined;
    this.#report(new BusClosedError(this.bus.id, `a message arrived on link ${this.name}, which closes itself`));
    void this.close();
    return undefined;
  }

  // Validates a frame; a bad one is counted before the error goes to the transport.
  #parse(frame: unknown): Message {
    try {
      return fromEnvelope(frame);
    } catch (error) {
      this.stats.rejected++;
      throw error;
    }
  }

  // What every received message goes through first: the far side answers, so a retry waiting out its
  // backoff goes at once; control messages are taken here; routes are learnt; then the import filters.
  // Only answers (`berrymq-reply:*`, which no follower sees, only the waiting request, here or on the bus
  // they are routed to) pass them. Anything else must match them like any message, whatever its `to`:
  // talk() callbacks and balanced requests, addressed here or passing through (a far side could
  // otherwise address anything to a bus beyond this one and slip past these filters).
  #admits(message: Message): boolean {
    if (this.#down) this.#answeredWhileDown();
    if (message.name === LINK_CONTROL_NAME) {
      this.#control(message);
      return false;
    }
    this.#table.learn(message.hops, this);
    if (message.name === REPLY_NAME) return true;
    return matchesAny(this.#importFilters, message);
  }

  // A neighbour list from the far bus (hostile input: checked, bounded). Only the far bus itself may say
  // whom it links to: a list claiming to come from another bus is refused.
  #control(message: Message): void {
    const farBus = message.hops[0];
    const list = message.args[0];
    if (this.#remoteBusId === undefined && message.id === NEIGHBOURS_ID) {
      this.#earlyControl = message;
      return;
    }
    if (message.id !== NEIGHBOURS_ID || farBus === undefined || farBus !== this.#remoteBusId || !Array.isArray(list)) {
      this.stats.rejected++;
      return;
    }
    const neighbours = new Map<string, Neighbour>();
    for (const entry of list.slice(0, NEIGHBOURS_LIMIT) as unknown[]) {
      const { bus, exports, imports, followers } = (entry ?? {}) as {
        bus?: unknown;
        exports?: unknown;
        imports?: unknown;
        followers?: unknown;
      };
      if (typeof bus !== "string" || !Array.isArray(exports)) continue;
      // No `imports`: an older peer, taken to take everything (as before). Anything else but a list: nothing.
      const neighbour: Neighbour =
        imports === undefined
          ? { bus, exports: parseFilters(exports) }
          : { bus, exports: parseFilters(exports), imports: Array.isArray(imports) ? parseFilters(imports) : [] };
      if (followers === true) neighbour.followers = true;
      neighbours.set(bus, neighbour);
    }
    this.#table.setNeighbours(farBus, neighbours);
  }

  // De-duplication; counts the message as arrived through this link.
  #accepts(message: Message): boolean {
    if (this.bus.hasSeen(message)) {
      this.stats.duplicates++;
      return false;
    }
    this.#arrivedNew(message);
    return true;
  }

  // A message injected for the first time; a request's answers are to go back through this link.
  #arrivedNew(message: Message): void {
    this.stats.received++;
    if (message.replyTo !== undefined) this.#table.requestCameThrough(message.messageId, this);
  }

  /**
   * Stops forwarding, tries for up to `closeTimeout` ms to deliver what is buffered, then closes the
   * transport. Messages that could not be delivered are returned and reported as a LinkUndeliveredError.
   */
  close(): Promise<CloseReport> {
    // A second call gets the first one's promise: it resolved at once, while the first still flushed and
    // closed the transport (up to 7 s on a hung Redis), so a caller that awaited it did not exit (r31).
    this.#closeCall ??= this.#closing ? Promise.resolve({ undelivered: [] }) : this.#close();
    return this.#closeCall;
  }

  async #close(): Promise<CloseReport> {
    this.#closing = true;
    this.#table.remove(this);
    this.bus.off("message", this.#onMessage);
    this.bus.off("follow", this.#onFollow);
    this.bus.off("unfollow", this.#onUnfollow);
    this.#wakeNow();
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, this.#closeTimeout).unref());
    if (this.backlog > 0) await Promise.race([this.#drainAll(), deadline]);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#closed = true;
    this.#announcement = undefined;
    // Requests that ended are not undelivered: nobody waits for them.
    const undelivered: Message[] = [];
    for (const message of [...this.#inflight, ...this.#pending.drain()]) {
      if (message.replyTo !== undefined && this.#ended(message)) this.stats.ended++;
      else undelivered.push(message);
    }
    this.#inflight = NONE;
    this.#pendingSizes.drain();
    this.#ownPending = 0;
    this.#bufferedBytes = 0;
    this.#inflightBytes = 0;
    await this.closeTransport();
    // Requests of this bus that went out on closed links only, with no follower here to answer them,
    // end now (RequestLinkClosedError) rather than at their timeout, or never with `Infinity`.
    requestTableOf(this.bus)?.linkClosed(
      this.bus.id,
      this.name,
      this.#table.oldestOpenLink(),
      followedBy(this.bus),
      this.#carried,
    );
    if (undelivered.length > 0) this.#report(new LinkUndeliveredError(this.name, undelivered));
    // Answers this link was the way back for go by the link now leading to their asker, or are held while
    // none is open (see LinkTable); those sent on every link are dropped by this one instead.
    for (const message of undelivered)
      if (message.inReplyTo !== undefined && message.to !== undefined && this.#unrouted?.has(message.messageId) !== true)
        this.#table.undelivered(message);
    if (this.#unrouted !== undefined && this.#unrouted.size > 0) this.#unsentUnrouted(undelivered);
    return { undelivered };
  }

  /**
   * For a transport that knows its far side is gone for good (another process answers there now, or nothing
   * does: see LinkLostError), not just unreachable for a while: reports `lost`, and ends the requests of
   * this bus that went out on this link, with no other link open since before them to carry them and no
   * follower here to answer them (RequestLinkClosedError caused by `lost`; `count: "all"` resolves). Those
   * still in this link's buffer wait: they go to the far side it reaches next, so the link counts as
   * carrying them from then on (a later loss, or the last other link closing, ends them).
   */
  protected farSideLost(lost: LinkLostError): void {
    this.#report(lost);
    if (!this.#started || this.#closing) return;
    const since = this.#carriesSince;
    const now = performance.now();
    this.#carriesSince = now;
    const requests = requestTableOf(this.bus);
    if (requests === undefined || requests.size === 0) return;
    const unsent = this.#bufferedRequests();
    const earliestUnsent = requests.linkLost(
      this.bus.id,
      this.name,
      since,
      this.#table.oldestOpenLink(this),
      (messageId) => unsent.has(messageId),
      followedBy(this.bus),
      lost,
      this,
    );
    this.#carriesSince = Math.min(now, earliestUnsent);
  }

  // The messageIds of this bus's requests still buffered (in flight included): the far side has not taken them.
  #bufferedRequests(): Set<string> {
    const ids = new Set<string>();
    const own = (message: Message): void => {
      if (message.replyTo !== undefined && message.hops[0] === this.bus.id) ids.add(message.messageId);
    };
    for (const message of this.#inflight) own(message);
    // The Fifo has no iterator: drained and refilled in order (a rare event).
    const pending = this.#pending.drain();
    for (const message of pending) {
      own(message);
      this.#pending.push(message);
    }
    return ids;
  }

  #forward(message: Message): void {
    if (isLocal(message)) return; // a name starting with "_" is local to its process: never exported
    if (this.#arriving !== undefined && message.messageId === this.#arriving) return;
    const far = this.#remoteBusId;
    if (far !== undefined && message.hops.includes(far)) return;
    if (message.to !== undefined) {
      if (!this.#routes(message, message.to)) return;
    } else if (!matchesAny(this.#exportFilters, message) || this.#sentAlready(message, far)) {
      return;
    }
    this.#enqueue(message);
  }

  // An addressed message goes only toward its bus: over the link to it or the learnt route; with no route
  // known, over every link (the far buses drop what is not theirs; `hops` stops loops). Answers
  // (`berrymq-reply:*`, seen by no follower) skip the export filters: the request they answer came in
  // this way. Everything else does not, whatever its `inReplyTo` says (a far side can forge it): a
  // balanced request, and a talk() callback, whose identifier must be exported on the way back.
  // An answer with no way back known is counted as one this link carries (see `#drop`), as it goes out.
  #routes(message: Message, to: string): boolean {
    if (to === this.bus.id) return false;
    if (message.name !== REPLY_NAME && !matchesAny(this.#exportFilters, message)) return false;
    const route = this.#routeOf(message, to);
    if (route !== undefined) {
      // A balanced call of this bus goes out on this link only: its request knows, so that it ends if the
      // link closes (the bus's other links never carried it).
      if (route === this && message.replyTo !== undefined && message.hops.length === 1 && message.hops[0] === this.bus.id)
        requestTableOf(this.bus)?.routed(message.messageId, this);
      return route === this;
    }
    if (message.inReplyTo !== undefined) this.#carryUnrouted(message.messageId);
    return true;
  }

  // This link takes an answer that goes out on every link (see LinkTable.carrying); remembered until it
  // is sent or dropped here, so that only a link carrying such answers looks at what it sent.
  #carryUnrouted(answerId: string): void {
    this.#unrouted ??= new Set();
    const mine = this.#unrouted;
    if (mine.has(answerId)) return;
    mine.add(answerId);
    this.#table.carrying(answerId);
  }

  // Answers of `#unrouted` in the batch just sent: sent, so no error answer for them (LinkTable.carried).
  #carriedUnrouted(mine: Set<string>): void {
    const inflight = this.#inflight;
    for (let i = 0; i < inflight.length; i++) {
      const id = (inflight[i] as Message).messageId;
      if (mine.delete(id)) this.#table.carried(id);
    }
  }

  // Answers of `#unrouted` this link closed without sending: dropped by it (see `#drop`), as undelivered.
  #unsentUnrouted(undelivered: readonly Message[]): void {
    const mine = this.#unrouted;
    const bus = this.bus;
    for (const message of undelivered) {
      if (mine?.delete(message.messageId) !== true) continue;
      const error = new LinkUndeliveredError(this.name, [message]);
      this.#table.dropped(message.messageId, () => answerUndeliverable(bus, message, error));
    }
  }

  // The one link an addressed message goes by, or undefined: over every link. An answer goes back the
  // way its request came (hops can be forged; that path cannot).
  #routeOf(message: Message, to: string): RoutedLink | undefined {
    return (message.inReplyTo !== undefined ? this.#table.answerPath(message.inReplyTo) : undefined) ?? this.#table.routeTo(to);
  }

  // In a mesh: the bus that sent us this message links to our far bus itself and forwards this message
  // there, and the far bus takes it from that bus, so it need not cross this link too. Both as announced:
  // the sender's list says what it sends to the far bus, the far bus's list what it takes from the sender
  // (its link's import filters). A far bus that has not listed the sender (yet) gets it from us too.
  #sentAlready(message: Message, far: string | undefined): boolean {
    if (far === undefined || message.hops.length < 2) return false;
    const sender = message.hops[message.hops.length - 2] as string;
    const exports = this.#table.exportsOf(sender, far);
    if (exports === undefined || !matchesAny(exports, message)) return false;
    const taken = this.#table.neighbourOf(far, sender);
    if (taken === undefined) return false;
    if (taken.imports === undefined || matchesAny(taken.imports, message)) return true;
    // The far bus's links to the sender and to this bus both import what its followers follow: it takes
    // from us exactly what it takes from the sender (the same filters at every moment, whatever its list
    // says yet), so not from us either. Sent, it would be refused there: in a full mesh of such links a
    // message crossed up to N²/4 links rather than N−1.
    return taken.followers === true && this.#table.neighbourOf(far, this.bus.id)?.followers === true;
  }

  #enqueue(message: Message): void {
    // What JSON cannot carry exactly is reported and not sent (a BigInt would make every retry of its
    // batch throw, holding up everything behind it).
    const why = unsendable(message, this.carriesEnvelopes);
    if (why !== undefined) {
      this.#drop(message, new UnsendableMessageError(this.name, message, why));
      return;
    }
    // Requests that ended make room first (only on this path: see #purgeEnded).
    if (this.backlog >= this.#bufferSize && (!this.#purgeEnded() || this.backlog >= this.#bufferSize)) {
      this.#drop(message, new LinkOverflowError(this.name, this.#bufferSize, message));
      return;
    }
    const size = messageBytes(message);
    // A message alone larger than the bound still goes when nothing else is kept: the transport's own
    // limit (maxMessageBytes, the far side's body limit) decides whether it can be carried.
    if (this.#overBytes(size) && (!this.#purgeEnded() || this.#overBytes(size))) {
      const bound = `bufferBytes ${this.#bufferBytes}: ${this.#bufferedBytes} held, the message ${size}`;
      this.#drop(message, new LinkOverflowError(this.name, this.#bufferSize, message, bound));
      return;
    }
    this.#bufferedBytes += size;
    this.#pendingSizes.push(size);
    this.#pending.push(message);
    if (message.replyTo !== undefined && this.#own(message)) this.#ownPending++;
    this.#schedule();
  }

  // Whether a message of `size` would take the buffer past bufferBytes (see #enqueue).
  #overBytes(size: number): boolean {
    return this.#bufferedBytes > 0 && this.#bufferedBytes + size > this.#bufferBytes;
  }

  // For a message that would overflow the buffer: takes the requests that ended out of it (counted in
  // `stats.ended`, as #take would) before anything is refused, so that requests nobody waits for (a long
  // outage's asks, timed out) do not keep live messages out. True if any went. Looks only when it can find
  // some: a request of this bus ended since it last looked (the table counts them), and `#pending` holds
  // requests of this bus; the batch in flight only while the link waits out a retry (a batch with the
  // transport is the transport's until it is through), and once per batch and request ended.
  #purgeEnded(): boolean {
    const requests = this.#requests;
    if (requests === undefined) return false;
    const finished = requests.finished;
    const before = this.stats.ended;
    if (this.#inflightPurgedAt !== finished && this.#inflight.length > 0 && this.#wake !== undefined) {
      this.#inflightPurgedAt = finished;
      this.#dropEndedInflight();
    }
    if (this.#pendingPurgedAt !== finished && this.#ownPending > 0) {
      this.#pendingPurgedAt = finished;
      // The Fifos have no iterator: drained and refilled in order, without the requests that ended.
      const messages = this.#pending.drain();
      const sizes = this.#pendingSizes.drain();
      let own = 0;
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i] as Message;
        const size = sizes[i] as number;
        if (message.replyTo !== undefined && this.#own(message)) {
          if (!requests.waits(message.messageId)) {
            this.#bufferedBytes -= size;
            this.stats.ended++;
            continue;
          }
          own++;
        }
        this.#pending.push(message);
        this.#pendingSizes.push(size);
      }
      this.#ownPending = own;
    }
    return this.stats.ended > before;
  }

  // Everything dispatched in this tick goes out as one batch: the loop starts in a microtask (a resolved
  // promise's then), unless it runs already (it takes what is pending once its batch is through).
  #schedule(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    void RESOLVED.then(this.#kick);
  }

  // Resolves once the send loop has stopped (nothing left to send, or closed), starting it if need be.
  #drain(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.#idle.push(resolve));
    if (!this.#running) this.#pump();
    return stopped;
  }

  async #drainAll(): Promise<void> {
    while (this.backlog > 0) await this.#drain();
  }

  // Hands the next batch to the transport (the batch in flight again after a failure); `#sent` or
  // `#failed` go on. Stops, telling `#idle`, when there is nothing to send or the link is closed.
  #pump(): void {
    if (!this.#closed) {
      // A batch sent again (after a failure, or the rest of one sent in parts) loses the requests that ended
      // since it was taken.
      if (this.#inflight.length > 0) this.#dropEndedInflight();
      // The announcement due rides in the batch, within maxBatch with it: the far server (maxBatch 1,000 by
      // default too) refuses a larger batch as a whole, and a full batch with an announcement on top was
      // 1,001 envelopes, refused at every retry.
      if (this.#inflight.length === 0 && this.#pending.length > 0) {
        this.#inflight = this.#take(this.#maxBatch - (this.#announcement === undefined ? 0 : 1));
        this.#inflightPurgedAt = -1;
      }
      if (this.#down && this.#inflight.length === 0 && this.#announcement === undefined) this.#probe();
    }
    if (this.#closed || (this.#inflight.length === 0 && this.#announcement === undefined)) {
      this.#stop();
      return;
    }
    this.#running = true;
    const inflight = this.#inflight;
    // A batch taken before the announcement came (a retry) has no room for it: it goes with the next one.
    const announcement = inflight.length < this.#maxBatch ? this.#announcement : undefined;
    this.#announced = announcement;
    const first = announcement === undefined ? 0 : 1;
    const batch = sized<Envelope>(inflight.length + first);
    if (announcement !== undefined) batch[0] = toEnvelope(announcement);
    for (let i = 0; i < inflight.length; i++) batch[first + i] = toEnvelope(inflight[i] as Message);
    let sent: Promise<unknown>;
    try {
      if (this.transmitWith(batch, this.#onSent, this.#onFailed)) return;
      sent = this.transmit(batch);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(this.#onSent, this.#onFailed);
  }

  // The send loop stops: `#idle` hears it.
  #stop(): void {
    this.#running = false;
    const idle = this.#idle;
    if (idle.length > 0) {
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  // The next batch: at most `most` messages out of the buffer, oldest first, in an array of the batch's size
  // (a round trip at one request in flight sends batches of one, and an array grown by push takes room for
  // 16). Requests of this bus that ended (see #ended) leave the buffer on the way, unsent.
  #take(most: number): Message[] {
    const pending = this.#pending;
    const sizes = this.#pendingSizes;
    const n = Math.min(pending.length, most);
    const taken = sized<Message>(n);
    // At most n kept (n is what the buffer held, or `most`): each goes in a slot of the array as sized.
    let kept = 0;
    while (kept < most && pending.length > 0) {
      const message = pending.shift() as Message;
      const size = sizes.shift() as number;
      // Only a message with a replyTo is looked at further: nothing more for plain messages.
      if (message.replyTo !== undefined && this.#own(message)) {
        this.#ownPending--;
        if (this.#requests?.waits(message.messageId) === false) {
          this.#bufferedBytes -= size;
          this.stats.ended++;
          continue;
        }
      }
      taken[kept++] = message;
      this.#inflightBytes += size;
    }
    if (kept < n) taken.length = kept;
    return taken;
  }

  // The batch in flight, to be sent again, without the requests that ended since it was taken.
  #dropEndedInflight(): void {
    const inflight = this.#inflight;
    const ended: Message[] = [];
    for (let i = 0; i < inflight.length; i++) {
      const message = inflight[i] as Message;
      if (message.replyTo !== undefined && this.#ended(message)) ended.push(message);
    }
    if (ended.length === 0) return;
    this.stats.ended += ended.length;
    const gone = new Set(ended);
    this.#keepInflight(
      inflight.filter((message) => !gone.has(message)),
      ended,
    );
  }

  // Whether `message` is a request this bus asked with `request`/`ask` (or a stub) that nobody waits for any
  // more: it timed out, was aborted, or got every answer it waits for. Sent, it would only make the far
  // followers work for answers that go nowhere, ahead of the requests still waiting (after an outage, all
  // those of the outage). Not reported (nobody waits for it), only counted in `stats.ended`. A talk() is no
  // such request whatever its promise: its answers come under its callback identifier, whose followers take
  // them. Nor is a request relayed from another bus (its table is not ours). One message look-up: the
  // request table's, for this bus's own requests only.
  #ended(message: Message): boolean {
    return this.#own(message) && this.#requests?.waits(message.messageId) === false;
  }

  // Whether `message` is a request of this bus (see #ended), whether it still waits or not.
  #own(message: Message): boolean {
    return message.replyTo === this.#replyId && message.hops.length === 1 && message.hops[0] === this.bus.id;
  }

  // Down, and nothing left to send: what waited ended (see #ended; `take` and `#dropEndedInflight` took it
  // out). The link still asks its far side, as it would with messages, so that it tells `up` once the far
  // side answers rather than stay down until the bus sends again: with the neighbour list it announced last
  // (the far bus takes it as often as it comes, and injects nothing), retried with the same backoff. A
  // link with no such list (no one far bus, or one that takes no control messages) stops instead: a frame
  // from its far side then tells `up` (see #admits). Not once `close()` was called.
  #probe(): void {
    if (this.#closing) return;
    if (this.#neighbourList !== undefined && this.carriesControl) this.#announcement = this.#neighbours(this.#neighbourList);
    else this.#askTransport();
  }

  // The probe of a link without a neighbour list to probe with: the transport's own question, if it has one
  // (see probeTransport), one at a time. Its answer tells `up` unless a batch went meanwhile (its outcome
  // tells); no answer waits out the backoff and asks again, unless the loop has messages to send again.
  #askTransport(): void {
    if (this.#probing) return;
    let asked: Promise<unknown> | undefined;
    try {
      asked = this.probeTransport();
    } catch (error) {
      asked = Promise.reject(error);
    }
    if (asked === undefined) return;
    this.#probing = true;
    asked.then(this.#transportAnswered, this.#transportSilent);
  }

  readonly #transportAnswered = (): void => {
    this.#probing = false;
    if (!this.#down || this.#closing || this.#running) return;
    this.#upAgain();
  };

  readonly #transportSilent = (): void => {
    this.#probing = false;
    if (!this.#down || this.#closing || this.#running) return;
    this.stats.retries++;
    this.#probeLater();
  };

  #sent(): void {
    if (this.#announcement === this.#announced) this.#announcement = undefined;
    this.#announced = undefined;
    this.stats.sent += this.#inflight.length;
    this.#bufferedBytes -= this.#inflightBytes;
    this.#inflightBytes = 0;
    if (this.#unrouted !== undefined && this.#unrouted.size > 0) this.#carriedUnrouted(this.#unrouted);
    this.#inflight = NONE;
    this.#delay = this.#retry.initial;
    // Not once close() is through (a probe, or a batch it gave up on, the far side took after): the link is gone.
    if (this.#down && !this.#closed) {
      this.#down = false;
      this.#tell("up", () => this.emit("up"));
    }
    this.#pump();
  }

  #failed(error: unknown): void {
    this.#announced = undefined;
    // What failed is already reported undelivered by close().
    if (this.#closed) {
      this.#pump();
      return;
    }
    // A message JSON cannot write although the check at enqueue passed it (a getter or toJSON that
    // answers otherwise the second time) would fail every retry of its batch, and everything behind it:
    // on a failure, and only then, each message of the batch is written alone, and one that throws goes.
    if (this.#dropUnwritable()) {
      this.#pump();
      return;
    }
    this.stats.retries++;
    if (!this.#down) {
      this.#down = true;
      const down = new LinkDownError(this.name, error);
      this.#tell("down", () => this.emit("down", down));
      this.#report(down);
    }
    // Only a neighbour list failed (a probe, see #probe): the loop stops while it waits out the backoff, so
    // that a message sent meanwhile goes at once (the list with it), and its timer keeps no process alive.
    if (this.backlog === 0) this.#probeLater();
    else void this.#sleep().then(this.#pumpNext);
  }

  #probeLater(): void {
    this.#stop();
    // A probe's timer may still wait: a neighbour list announced meanwhile went at once and failed. Left
    // armed (its handle lost), it would run a second probe loop from then on, one more per such list.
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(this.#probeDue, this.#backoff()).unref();
  }

  readonly #probeDue = (): void => {
    this.#retryTimer = undefined;
    if (!this.#running) this.#pump();
  };

  // Takes what JSON.stringify throws on out of the batch in flight, reported as unsendable; true if any.
  #dropUnwritable(): boolean {
    let kept: Message[] | undefined;
    const inflight = this.#inflight;
    for (let i = 0; i < inflight.length; i++) {
      const message = inflight[i] as Message;
      let why: unknown;
      try {
        JSON.stringify(toEnvelope(message));
        why = this.unwritable(message);
      } catch (error) {
        why = error;
      }
      if (why === undefined) kept?.push(message);
      else {
        kept ??= inflight.slice(0, i);
        this.#drop(message, new UnsendableMessageError(this.name, message, why));
      }
    }
    if (kept === undefined) return false;
    this.#keepInflight(kept);
    return true;
  }

  // The batch in flight becomes `kept` (messages taken out of it). What it counts against bufferBytes: less
  // what `taken` counts, when given (measured as at enqueue; never below zero: a message whose toJSON
  // answers otherwise now), else measured again (a rare path).
  #keepInflight(kept: Message[], taken?: readonly Message[]): void {
    this.#inflight = kept.length === 0 ? NONE : kept;
    let counted = 0;
    if (kept.length > 0 && taken !== undefined) {
      let gone = 0;
      for (const message of taken) gone += messageBytes(message);
      counted = Math.max(0, this.#inflightBytes - gone);
    } else for (const message of kept) counted += messageBytes(message);
    this.#bufferedBytes += counted - this.#inflightBytes;
    this.#inflightBytes = counted;
  }

  /**
   * Why this transport can never carry `message` (e.g. larger than it takes), or `undefined`. Asked only
   * after a failed transmit, for each message of the batch: one it names is dropped and reported
   * (UnsendableMessageError) and the rest go again, rather than the batch failing for ever.
   */
  protected unwritable(_message: Message): string | undefined {
    return undefined;
  }

  #sleep(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const delay = this.#backoff();
    // A probe's timer (see #probeLater), if one waits: the loop runs again, and this wait retries it too.
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#wake = undefined;
        resolve();
      }, delay);
    });
  }

  // The next retry's delay; the one after it doubles, up to `retryDelay.max`.
  #backoff(): number {
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, this.#retry.max);
    return delay;
  }

  // A frame from the far side while the link is down: a retry (or probe, see #probe) waiting out its backoff
  // goes at once (its success tells `up`). A link down with nothing to retry and no probe takes the frame
  // itself as its far side answering.
  #answeredWhileDown(): void {
    if (this.#running || this.#closing) {
      this.#wakeNow();
      return;
    }
    // A probe's timer waits (the loop stopped): it goes now.
    if (this.#retryTimer !== undefined) {
      this.#wakeNow();
      this.#schedule();
      return;
    }
    if (this.#scheduled || (this.#neighbourList !== undefined && this.carriesControl)) return;
    this.#upAgain();
  }

  // The far side answered while nothing was being sent (a transport probe, a frame): `up`, the backoff reset.
  #upAgain(): void {
    this.#down = false;
    this.#delay = this.#retry.initial;
    this.#tell("up", () => this.emit("up"));
  }

  // close() retries at once instead of waiting out the backoff.
  #wakeNow(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#delay = this.#retry.initial;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  // Counts and reports a message not sent. A request of this bus that no link carries, and no follower
  // here may answer, rejects with the error at once rather than at its timeout. An answer (this bus's, or
  // one it relays) that this link was the one way back for goes to its asker as an error answer naming
  // the error instead; so does one sent over every link (no way back known) once each link that took it
  // dropped it and none sent it (the error answer goes out on the links then open: it reaches the asker
  // when one of them leads there).
  #drop(message: Message, error: BerryError): void {
    this.stats.dropped++;
    this.#report(error);
    const bus = this.bus;
    if (message.inReplyTo !== undefined && message.to !== undefined) {
      if (this.#unrouted?.delete(message.messageId) === true)
        this.#table.dropped(message.messageId, () => answerUndeliverable(bus, message, error));
      else if (this.#routeOf(message, message.to) === this) answerUndeliverable(bus, message, error);
      return;
    }
    if (message.replyTo === undefined || message.hops.length !== 1 || message.hops[0] !== bus.id) return;
    requestTableOf(bus)?.refused(message.messageId, bus.id, this, this.#carried, followedBy(bus), error);
  }

  // Whether another open link carried a request some links refused (see RequestTable's `refused`).
  readonly #carried = (opened: number, refusedBy: ReadonlySet<object>): boolean => this.#table.carries(opened, refusedBy);

  // A listener that throws (error: a process warning; up, down: reported as LinkListenerError) never throws
  // into the pump: #failed threw before its retry was armed, and the link never sent again.
  #report(error: BerryError): void {
    emitError(this, error, (unheard) => this.bus.report(unheard));
  }

  #tell(event: "up" | "down", emit: () => unknown): void {
    try {
      emit();
    } catch (thrown) {
      this.#report(new LinkListenerError(this.name, event, thrown));
    }
  }
}

// Most filters read from (and written to) one entry of a neighbour list.
const FILTERS_LIMIT = 64;

// The filters of a neighbour list's entry (hostile input): strings only, at most FILTERS_LIMIT. One we cannot
// parse is left out: a filter cut off never suppresses forwarding.
function parseFilters(list: unknown[]): Identifier[] {
  const filters: Identifier[] = [];
  for (const filter of list.slice(0, FILTERS_LIMIT) as unknown[]) {
    if (typeof filter !== "string") continue;
    try {
      filters.push(parseIdentifier(filter));
    } catch {
      // Left out (see above).
    }
  }
  return filters;
}

// A filter written without `@ns` (the default `*:*` included) passes every namespace; one with `@ns`
// passes that namespace only. The message's namespace is only in its id: parsing it is a cache hit.
function matchesFilter(filter: Identifier, message: Message): boolean {
  if (filter.namespace !== DEFAULT_NAMESPACE) return matches(filter, message.id);
  return partMatches(filter.name, message.name) && partMatches(filter.action, message.action);
}

// Whether one of `filters` passes `message`: a loop, not `some` with a closure per message (every message
// a link forwards or receives passes here once or twice).
function matchesAny(filters: readonly Identifier[], message: Message): boolean {
  for (let i = 0; i < filters.length; i++) if (matchesFilter(filters[i] as Identifier, message)) return true;
  return false;
}

// Whether a follower or queue of `bus` matches an identifier (its patterns taken once, when first asked).
function followedBy(bus: Bus): (identifier: string) => boolean {
  let followed: Identifier[] | undefined;
  return (identifier) => {
    followed ??= bus.patterns();
    return followed.some((pattern) => matches(pattern, identifier));
  };
}

// No batch in flight.
const NONE: readonly Message[] = Object.freeze([]);

// An array of `length` slots, all to be filled by the caller in order. Large ones grow as they are
// filled instead (V8 makes a very long preallocated array sparse).
function sized<T>(length: number): T[] {
  return length <= 1024 ? new Array<T>(length) : [];
}

// What a message counts against bufferBytes: its args and kwargs (see jsonSize).
function messageBytes(message: Message): number {
  return jsonSize(message.args) + jsonSize(message.kwargs);
}

// Characters JSON would write for a value (already checked by `unsendable`: no cycle, bounded depth), estimated
// without writing it: a string's length plus its quotes (escapes not counted), 8 per number.
function jsonSize(value: unknown): number {
  if (typeof value === "string") return value.length + 2;
  if (typeof value !== "object" || value === null) return typeof value === "number" ? 8 : 5;
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
    try {
      return JSON.stringify(value)?.length ?? 0;
    } catch {
      return 0;
    }
  }
  let size = 2;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) size += jsonSize(value[i]) + 1;
    return size;
  }
  for (const key in value) {
    if (Object.hasOwn(value, key)) size += key.length + 4 + jsonSize((value as Record<string, unknown>)[key]);
  }
  return size;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(name, value, "an integer >= 1");
  return value;
}
