import { randomBytes } from "node:crypto";
import * as zmq from "zeromq";
import { type BerryError, emitError, InvalidArgumentError } from "../../lib/errors.js";
import { type Identifier, MAX_CACHED_IDENTIFIER_LENGTH, parseIdentifier, partMatches } from "../../lib/identifier.js";
import { isPlainObject } from "../../lib/kwargs.js";
import { checkTimerDelay, MAX_TIMER_DELAY } from "../../lib/long-timer.js";
import type { Message } from "../../lib/message.js";
import { RecentIds } from "../../lib/recent-ids.js";
import { fromCompactEnvelope, toCompactEnvelope } from "../compact-envelope.js";
import { type Envelope, toEnvelope } from "../envelope.js";
import { Link, type LinkOptions } from "../link.js";
import { BodyWriter, SMALL_BODY, sized, splitLines } from "./batch-body.js";
import {
  ACK_REQUIRED,
  BROADCAST,
  CLIENT_FEATURES,
  CLIENT_ID_LENGTH,
  FEATURE_ONE_FRAME_PUBLISH,
  FIELD_SEPARATOR,
  HEAD_PREFIX,
  HEAD_STRIDE,
  Kind,
  NO_ACK,
} from "./broker-protocol.js";
import { portNumber } from "./check-options.js";
import { checkPolicy, type DeliveryPolicy, type HeadPolicy, headPolicy } from "./delivery-policy.js";
import {
  BrokerFullError,
  BrokerNoSubscriberError,
  BrokerQuotaError,
  BrokerRefusedError,
  BrokerTimeoutError,
  ZmqProtocolError,
} from "./errors.js";
import { checkMaxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES } from "./message-bytes.js";
import { receiveEach } from "./receive-loop.js";
import { SendQueue } from "./send-queue.js";

/** Options of {@link BrokerLink}. The import filters are also the patterns subscribed at the broker. */
export interface BrokerLinkOptions extends LinkOptions {
  /** Broker host (default `127.0.0.1`). */
  host?: string;
  /** The broker's pub port (default 7201). */
  pubPort?: number;
  /** The broker's recv port (default 7202). */
  recvPort?: number;
  /**
   * Messages matching one of these are sent with acknowledgement: held and resent until a subscriber took
   * them. A rule with a policy sets their expiry and what happens when no subscriber matches; the first
   * matching entry wins.
   */
  acknowledge?: readonly (string | AcknowledgeRule)[];
  /** How long to wait for the broker to confirm a batch, in ms, before retrying it (default 2,000). */
  sendTimeout?: number;
  /** Interval of this client's heartbeat (its registration refresh), in ms (default 1,000). */
  heartbeatInterval?: number;
  /** How long `connect` waits for the broker's welcome, in ms (default 5,000). */
  connectTimeout?: number;
  /**
   * Largest batch body sent, in bytes (default 16 MiB, from 1 KiB; at most the broker's own
   * `maxMessageBytes`, which cuts a client sending a frame over twice its value): a larger batch goes as
   * several, and a message whose line alone passes it is dropped and reported (UnsendableMessageError).
   */
  maxMessageBytes?: number;
}

/** An `acknowledge` entry with its own delivery policy. */
export interface AcknowledgeRule extends DeliveryPolicy {
  /** Messages matching this pattern are acknowledged with this policy. */
  filter: string;
}

interface AckRule {
  filter: Identifier;
  head: HeadPolicy;
}

/** Counters of a broker link, on top of the Link ones. */
export interface BrokerLinkStats {
  /** Acknowledgements sent to the broker. */
  acksSent: number;
  /** Acknowledged messages received that reached no local follower or queue (so not acknowledged). */
  unconsumed: number;
  /** Times the broker was seen restarting (this link registered again). */
  reconnects: number;
  /**
   * Acknowledged messages the broker refused for good (each reported as BrokerRefusedError): settled, not
   * sent again.
   */
  refused: number;
}

// DELIVER flags: one per envelope, "1" = acknowledge, "0" = not.
const FLAGS = /^[01]*$/;
const ACK_POLICY_CACHE = 10_000;
const SPACE = 0x20;
const DELIVER_KIND = Kind.deliver.charCodeAt(0);
const FLAG_ACK = ACK_REQUIRED.charCodeAt(0);
const FLAG_NO_ACK = NO_ACK.charCodeAt(0);
const ZERO = 0x30;
const NINE = 0x39;

// The seq at `from` to the end of `frame`, as the broker writes it (1 to 15 digits); -1 for anything else.
function seqNumber(frame: Buffer, from: number): number {
  const length = frame.length - from;
  if (length < 1 || length > 15) return -1;
  let seq = 0;
  for (let i = from; i < frame.length; i++) {
    const digit = frame[i] as number;
    if (digit < ZERO || digit > NINE) return -1;
    seq = seq * 10 + (digit - ZERO);
  }
  return seq;
}

interface PendingReceipt {
  seq: number;
  resolve(): void;
  reject(error: BerryError): void;
  /** When the batch is given up on (`performance.now()` ms). */
  deadline: number;
}

/**
 * A client of the {@link Broker}: what the local bus dispatches under the export filters goes to the
 * broker; what the broker fans out under the import filters (the subscriptions) is injected. Messages
 * matching `acknowledge` are held by the broker until a subscriber here acknowledged them, which happens
 * once a local follower or queue received them and every follower reached has finished (async ones
 * included; one that fails is reported and counts as finished). Reconnects by itself when the broker restarts.
 * @example
 * const link = await BrokerLink.connect({ bus, pubPort: 7201, recvPort: 7202, importFilters: ["greetings:*"] });
 * bus.twitter("greetings:hello", "Gustav");
 * await link.close();
 */
export class BrokerLink extends Link {
  /** This client's id at the broker (its ROUTER routing id and PUB topic). */
  readonly clientId = randomBytes(CLIENT_ID_LENGTH / 2).toString("hex");
  readonly #idBytes = Buffer.from(this.clientId);
  readonly brokerStats: BrokerLinkStats = { acksSent: 0, unconsumed: 0, reconnects: 0, refused: 0 };
  readonly #dealer: zmq.Dealer;
  readonly #sub: zmq.Subscriber;
  readonly #dealerQueue: SendQueue;
  #patterns: string;
  readonly #acknowledge: AckRule[];
  readonly #sendTimeout: number;
  readonly #heartbeatInterval: number;
  readonly #endpoint: string;
  // Batches waiting for their receipt, in sending order (so in deadline order: one sendTimeout each). An
  // array, not a Map: a Map emptied by delete shrinks its table and grows it again at the next set, ~300
  // bytes on every one-message round trip; a link has one batch in flight, so the array holds one or two.
  readonly #receipts: PendingReceipt[] = [];
  // One timer for all of them, armed for the oldest one's deadline: a batch sets and clears no timer of
  // its own (a timer per batch was two timer-list operations on every one-message round trip).
  #receiptTimer: NodeJS.Timeout | undefined;
  // Acknowledged messages a local follower took: a resend of one of them is acknowledged again.
  readonly #consumed = new RecentIds(10_000);
  readonly #ackPolicyCache = new Map<string, HeadPolicy>();
  readonly #body = new BodyWriter();
  // Bumped by each change of subscriptions; a HELLO carries it and the broker's WELCOME echoes it, so a
  // change is known to be applied once a welcome of its version (or a later one) came back.
  #patternsVersion = 0;
  #welcomeWaiters: { version: number; resolve: () => void; reject: (error: BerryError) => void }[] = [];
  // The latest change of subscriptions (settled either way): a welcome of its version covers every earlier one.
  #lastChange: Promise<void> = Promise.resolve();
  // The last patterns version whose refusal was reported without a waiter (a heartbeat's HELLO): once each.
  #refusedVersion = -1;
  #acks: string[] = [];
  readonly #maxMessageBytes: number;
  #seq = 0;
  #bootId: string | undefined;
  // Whether the broker whose welcome we heard takes a PUBLISH as one frame (its WELCOME's feature "p").
  #oneFramePublish = false;
  #welcomed: (() => void) | undefined;
  #helloInFlight = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: BrokerLinkOptions) {
    // Checked before super(): a bad option throws before the link is attached to the bus.
    const host = options.host ?? "127.0.0.1";
    const pubPort = portNumber("pubPort", options.pubPort ?? 7201);
    const recvPort = portNumber("recvPort", options.recvPort ?? 7202);
    const acknowledge = (options.acknowledge ?? []).map((rule, i): AckRule => {
      if (typeof rule === "string") return { filter: parseIdentifier(rule), head: 1 };
      const { filter, ...policy } = rule;
      return { filter: parseIdentifier(filter), head: headPolicy(checkPolicy(`acknowledge[${i}]`, policy)) };
    });
    const sendTimeout = checkTimerDelay("sendTimeout", options.sendTimeout ?? 2_000);
    const heartbeatInterval = checkTimerDelay("heartbeatInterval", options.heartbeatInterval ?? 1_000);
    const maxMessageBytes = checkMaxMessageBytes(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    super(options);
    this.#endpoint = `tcp://${host}:${recvPort}`;
    this.#patterns = JSON.stringify(this.subscriptionFilters);
    this.#acknowledge = acknowledge;
    this.#sendTimeout = sendTimeout;
    this.#heartbeatInterval = heartbeatInterval;
    this.#maxMessageBytes = maxMessageBytes;
    // `immediate`: while the broker is down, sends wait (up to sendTimeout) instead of piling up in a pipe.
    // ZMTP heartbeats on both sockets, answered by the broker's libzmq: a connection that brings nothing
    // for five heartbeatIntervals after a PING is closed and made again. Without them a connection dead
    // without a TCP close (a host powered off, a cable cut) was kept for good, and the link never reached
    // the broker again (the SUB sends nothing, so TCP never gave up on it).
    const heartbeats = { heartbeatInterval, heartbeatTimeout: Math.min(heartbeatInterval * 5, MAX_TIMER_DELAY) };
    this.#dealer = new zmq.Dealer({ routingId: this.clientId, linger: 0, immediate: true, sendTimeout: this.#sendTimeout, ...heartbeats });
    this.#sub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 100_000, ...heartbeats });
    this.#sub.subscribe(this.clientId, BROADCAST);
    try {
      this.#dealer.connect(this.#endpoint);
      this.#sub.connect(`tcp://${host}:${pubPort}`);
    } catch (error) {
      // Only ZeroMQ knows which hosts it takes (it refuses one with a space at once, "Invalid argument").
      this.#dealer.close();
      this.#sub.close();
      this.abandon();
      throw new InvalidArgumentError(
        "host",
        host,
        `a host ZeroMQ connects to (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    // A batch is posted with its seq as the tag: a failed send rejects that batch.
    this.#dealerQueue = new SendQueue(this.#dealer, (error, seq) => {
      const pending = this.#takeReceipt(seq);
      pending?.reject(new ZmqProtocolError("send to broker failed:", error instanceof Error ? error.message : error));
    });
  }

  /**
   * Connects to the broker and resolves once it welcomed this client on both ports; the link then
   * forwards the bus's messages.
   * @throws BrokerTimeoutError when no welcome came within `connectTimeout`.
   */
  static async connect(options: BrokerLinkOptions = {}): Promise<BrokerLink> {
    // Before the link is built: a bad one leaves no link on the bus.
    const timeout = checkTimerDelay("connectTimeout", options.connectTimeout ?? 5_000);
    const link = new BrokerLink(options);
    const welcomed = new Promise<void>((resolve) => {
      link.#welcomed = resolve;
    });
    void link.#receiveReceipts();
    void link.#receiveDeliveries();
    // Until the first welcome, say hello often: the PUB side drops whatever it sends before the SUB joined.
    const eager = setInterval(() => link.#hello(), 100);
    link.#hello();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        welcomed,
        new Promise<never>((_, reject) => {
          // Said as what it is: "did not confirm a batch" read as a send failing, nothing having been sent.
          timer = setTimeout(() => reject(new BrokerTimeoutError(link.#endpoint, timeout, "welcome this link (connect)")), timeout);
        }),
      ]);
    } catch (error) {
      clearInterval(eager);
      await link.close();
      throw error;
    } finally {
      clearInterval(eager);
      clearTimeout(timer);
    }
    link.#timer = setInterval(() => link.#hello(), link.#heartbeatInterval).unref();
    link.start();
    return link;
  }

  protected override transmit(batch: Envelope[]): Promise<void> {
    const seq = ++this.#seq;
    // Naming the broker whose welcome we heard lets it confirm the batch on a delivery (see broker-protocol.ts).
    // Allocated at its size: pushed onto, it grew twice for a one-message batch.
    const head = sized<string | HeadPolicy>(HEAD_PREFIX + HEAD_STRIDE * batch.length);
    head[0] = String(seq);
    head[1] = this.#bootId ?? "";
    let line = "";
    try {
      for (let i = 0, at = HEAD_PREFIX; i < batch.length; i++, at += HEAD_STRIDE) {
        const envelope = batch[i] as Envelope;
        const policy = this.#acknowledge.length > 0 ? this.#ackPolicy(envelope.id) : 0;
        // The broker reads a messageId only to hold an acknowledged message: "" spares ~50 bytes a message.
        head[at] = envelope.id;
        head[at + 1] = policy === 0 ? "" : envelope.messageId;
        head[at + 2] = policy;
        line = JSON.stringify(toCompactEnvelope(envelope));
        if (batch.length > 1) this.#body.push(line);
      }
    } catch (error) {
      // The lines pushed so far must not open the next batch's body (found in review).
      if (batch.length > 1) this.#body.take();
      this.#seq--;
      throw error;
    }
    // Written as UTF-8 as it goes, not joined into one large string (see BodyWriter). A single small line
    // is the body as it is: through the writer it was written out and decoded into a second string.
    const body = batch.length > 1 || line.length > SMALL_BODY / 3 ? this.#bodyOf(batch.length, line) : line;
    // A string body is the one small line (its bytes counted only when it could be too many).
    const max = this.#maxMessageBytes;
    const bytes = typeof body !== "string" ? body.length : body.length * 3 <= max ? 0 : Buffer.byteLength(body);
    if (bytes > max) {
      this.#seq--; // never sent: the seq is free again
      if (batch.length === 1) return Promise.reject(new RangeError(tooLarge(bytes, max)));
      // Rare (batches are cut by count): the halves go as batches of their own, the second once the broker
      // confirmed the first, so that order holds (the broker may refuse one half: a quota, a full broker);
      // a failure fails the batch and the Link sends it again whole (receivers drop what they had).
      const half = Math.ceil(batch.length / 2);
      const rest = batch.slice(half);
      return this.transmit(batch.slice(0, half)).then(() => this.transmit(rest));
    }
    // One frame to a broker that takes it (a string body: small enough to copy once more), else three. Only
    // while the frame surely stays within the broker's bound, twice its maxMessageBytes (at least twice
    // ours), which libzmq applies per frame: a head can be longer than its body (a policy object, a long
    // identifier), and head and body as two frames were each within it (UTF-8: at most 3 bytes a unit).
    const headJson = JSON.stringify(head);
    const frames: (string | Buffer)[] =
      this.#oneFramePublish && typeof body === "string" && (headJson.length + body.length) * 3 + 2 <= 2 * max
        ? [`${Kind.publish}${headJson}\n${body}`]
        : [Kind.publish, headJson, body];
    return new Promise<void>((resolve, reject) => {
      this.#receipts.push({ seq, resolve, reject, deadline: performance.now() + this.#sendTimeout });
      if (this.#receiptTimer === undefined) this.#receiptTimer = setTimeout(() => this.#expireReceipts(), this.#sendTimeout);
      else if (this.#receipts.length === 1) this.#receiptTimer.ref();
      this.#dealerQueue.post(frames, seq);
    });
  }

  // A down link with nothing left to send asks the broker itself (see Link's probeTransport): a HELLO, which
  // the broker welcomes whenever it is up; none within sendTimeout rejects. A refusal (past its maxPatterns
  // or maxClients) is an answer too: the broker is up and takes this link's batches (a PUBLISH needs no
  // welcome). Taken for none, the link stayed down, probing for ever; the refusal is reported by the next
  // heartbeat's HELLO, refused in turn.
  protected override probeTransport(): Promise<unknown> {
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        version: this.#patternsVersion,
        resolve: () => settled(undefined),
        reject: () => settled(undefined),
      };
      // Unref'd, as the Link's probe timer: a probe keeps no process alive.
      const timer = setTimeout(() => settled(new BrokerTimeoutError(this.#endpoint, this.#sendTimeout)), this.#sendTimeout).unref();
      const settled = (error: BerryError | undefined): void => {
        clearTimeout(timer);
        this.#welcomeWaiters = this.#welcomeWaiters.filter((other) => other !== waiter);
        if (error === undefined) resolve();
        else reject(error);
      };
      this.#welcomeWaiters.push(waiter);
      this.#hello();
    });
  }

  // A message whose line alone passes maxMessageBytes: the Link drops it and reports why.
  protected override unwritable(message: Message): string | undefined {
    const bytes = Buffer.byteLength(JSON.stringify(toCompactEnvelope(toEnvelope(message))));
    return bytes > this.#maxMessageBytes ? tooLarge(bytes, this.#maxMessageBytes) : undefined;
  }

  // The body of a batch through the writer (its lines pushed already, unless it is the one `line`).
  #bodyOf(count: number, line: string): Buffer | string {
    if (count === 1) this.#body.push(line);
    return this.#body.take();
  }

  // Removes and returns the batch `seq` waiting for its receipt (usually the first and only one).
  #takeReceipt(seq: number): PendingReceipt | undefined {
    const receipts = this.#receipts;
    if (receipts.length > 0 && (receipts[0] as PendingReceipt).seq === seq) return receipts.shift();
    const at = receipts.findIndex((pending) => pending.seq === seq);
    return at === -1 ? undefined : receipts.splice(at, 1)[0];
  }

  // Rejects the batches past their deadline; the timer is armed again for the oldest one left, if any.
  #expireReceipts(): void {
    this.#receiptTimer = undefined;
    const now = performance.now();
    for (let pending = this.#receipts[0]; pending !== undefined; pending = this.#receipts[0]) {
      if (pending.deadline > now) {
        // Whole ms: one Timeout with a fractional delay turns Node's Timeout class's `_idleTimeout` field
        // from small integers to doubles, which deoptimizes every optimized function that handled a timer
        // (Node's timer list code, and transmit, #settle, the broker's #owe…): they are compiled again,
        // ~2 ms of a core each, inside the round trips of the moment (see bench/results/zeromq.md).
        this.#receiptTimer = setTimeout(() => this.#expireReceipts(), Math.ceil(pending.deadline - now));
        return;
      }
      this.#receipts.shift();
      pending.reject(new BrokerTimeoutError(this.#endpoint, this.#sendTimeout));
    }
  }

  protected override async closeTransport(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#receiptTimer !== undefined) clearTimeout(this.#receiptTimer);
    this.#receipts.length = 0;
    // Best effort: tell the broker at once rather than letting it time this client out.
    await Promise.race([
      this.#dealerQueue.send([Kind.bye]).catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 50)),
    ]);
    this.#dealer.close();
    this.#sub.close();
  }

  #ackPolicy(identifier: string): HeadPolicy {
    let policy = this.#ackPolicyCache.get(identifier);
    if (policy === undefined) {
      const id = parseIdentifier(identifier);
      const rule = this.#acknowledge.find(
        ({ filter }) => partMatches(filter.name, id.name) && partMatches(filter.action, id.action),
      );
      policy = rule?.head ?? 0;
      if (identifier.length > MAX_CACHED_IDENTIFIER_LENGTH) return policy;
      if (this.#ackPolicyCache.size >= ACK_POLICY_CACHE) this.#ackPolicyCache.clear();
      this.#ackPolicyCache.set(identifier, policy);
    }
    return policy;
  }

  /**
   * Starts importing `filter` (see Link's `subscribe`); resolves once the broker welcomed it, also when the
   * filter was already there with its HELLO still on its way (an earlier call not awaited, a follower of an
   * `importFilters: "followers"` link): that resolved at once, before r32, and what was sent right after was
   * not routed here.
   */
  override async subscribe(filter: string): Promise<void> {
    await super.subscribe(filter);
    await this.#lastChange;
  }

  /** Stops importing `filter` (see Link's `unsubscribe`); resolves once the broker welcomed every change made so far. */
  override async unsubscribe(filter: string): Promise<boolean> {
    const removed = await super.unsubscribe(filter);
    await this.#lastChange;
    return removed;
  }

  /**
   * Resolves once every change of the import filters made so far (`subscribe`, `unsubscribe`, a follower or
   * queue come or gone under `importFilters: "followers"`) is welcomed by the broker, or `sendTimeout` after
   * the latest while the broker is down (every heartbeat carries the patterns). A change the broker refused
   * is reported on `error`, not here.
   * @example bus.follow("job:run", run); await link.subscriptionsApplied(); // the broker routes job:run here
   */
  subscriptionsApplied(): Promise<void> {
    return this.#lastChange;
  }

  protected override importFiltersChanged(added: readonly Identifier[] = []): Promise<void> {
    const change = this.#applyPatterns(added);
    this.#lastChange = change.catch(() => undefined);
    return change;
  }

  // Run-time subscriptions: the new pattern set goes to the broker at once; resolves once it welcomed it.
  // Past `sendTimeout` (the broker is down), it resolves anyway: every later heartbeat carries the patterns.
  // A change the broker refuses (past its maxPatterns) rejects with its ZmqProtocolError, and the filters
  // it added are taken back (the broker keeps the patterns it had); before, it resolved as if the broker
  // were down, and every later HELLO was refused until the broker forgot this link.
  async #applyPatterns(added: readonly Identifier[]): Promise<void> {
    this.#patterns = JSON.stringify(this.subscriptionFilters);
    const version = ++this.#patternsVersion;
    if (this.#closed) return;
    let timer: NodeJS.Timeout | undefined;
    let waiter: { version: number; resolve: () => void; reject: (error: BerryError) => void } | undefined;
    const applied = new Promise<void>((resolve, reject) => {
      waiter = { version, resolve, reject };
      this.#welcomeWaiters.push(waiter);
      timer = setTimeout(resolve, this.#sendTimeout);
    });
    this.#helloInFlight = false; // this HELLO carries new patterns: it must not wait behind a heartbeat
    this.#hello();
    try {
      await applied;
    } catch (error) {
      for (const filter of added) await this.unsubscribe(filter.id);
      throw error;
    } finally {
      clearTimeout(timer);
      // Its own waiter only: a transport probe started since (see probeTransport) waits with the same
      // version, and taken off with it, it heard no welcome (the link stayed down until it timed out).
      this.#welcomeWaiters = this.#welcomeWaiters.filter((other) => other !== waiter);
    }
  }

  // The broker refused the HELLO of patterns `version`: that change fails; a refusal nobody waits for (a
  // heartbeat's) is reported, once per version.
  #helloRefused(version: number, text: string | undefined): void {
    let message = text;
    try {
      message = String((JSON.parse(text ?? "") as { message?: unknown }).message);
    } catch {
      // reported as it came
    }
    const error = new ZmqProtocolError("broker refused this link's subscriptions:", message);
    const waiters = this.#welcomeWaiters.filter((waiter) => waiter.version === version);
    for (const waiter of waiters) waiter.reject(error);
    if (waiters.length === 0 && version !== this.#refusedVersion) {
      this.#refusedVersion = version;
      this.#report(error);
    }
  }

  #hello(): void {
    if (this.#closed || this.#helloInFlight) return;
    this.#helloInFlight = true;
    this.#dealerQueue
      .send([Kind.hello, this.#patterns, String(this.#patternsVersion), CLIENT_FEATURES])
      .catch(() => undefined) // the broker is down: the next heartbeat tries again
      .finally(() => {
        this.#helloInFlight = false;
      });
  }

  async #receiveReceipts(): Promise<void> {
    try {
      await receiveEach(this.#dealer, ([kind, seqFrame, errorFrame, refusedFrame, invalidFrame]) => {
        const kindText = kind?.toString();
        if (kindText === Kind.helloRefused) this.#helloRefused(Number(seqFrame?.toString()), errorFrame?.toString());
        if (kindText !== Kind.receipt) return;
        const error =
          errorFrame === undefined || errorFrame.length === 0 ? undefined : brokerError(errorFrame.toString(), this.clientId);
        // A receipt that comes after its batch timed out settles nothing: the batch is being sent again, and
        // that send's receipt says what became of its messages. Reporting this one's refusals too would tell
        // of a refusal for a message still being sent, which a subscriber that joined meanwhile then gets.
        if (!this.#settle(seqFrame?.toString(), error)) return;
        if (refusedFrame !== undefined) this.#reportNoSubscriber(refusedFrame.toString());
        if (invalidFrame !== undefined) this.#reportInvalid(invalidFrame.toString());
      });
    } catch (error) {
      if (!this.#closed) this.#report(new ZmqProtocolError("receive from broker failed:", String(error)));
    }
  }

  // A receipt came (on the recv port, or riding on the broadcast of our own batch): the batch is settled.
  // False when the batch was not waiting for it (timed out already and sent again).
  #settle(seqText: string | number | undefined, error: BerryError | undefined): boolean {
    const pending = this.#takeReceipt(Number(seqText));
    if (pending === undefined) return false; // timed out already; the batch was sent again
    // Left armed for the next batch, but it keeps the process alive only while a batch waits, as before.
    if (this.#receipts.length === 0) this.#receiptTimer?.unref();
    if (error === undefined) pending.resolve();
    else pending.reject(error);
    return true;
  }

  readonly #onPublished = (frames: Buffer[]): void => {
    if (frames.length === 2 && this.#deliverFast(frames[0] as Buffer, frames[1] as Buffer)) return;
    // "<topic> <kind> <fields…>", then the body of a DELIVER (see broker-protocol.ts).
    const fields = frames[0]?.toString().split(FIELD_SEPARATOR) ?? [];
    const kind = fields[1];
    if (kind === Kind.deliver) this.#deliver(fields, frames);
    else if (kind === Kind.welcome) this.#welcome(fields[2], Number(fields[3] ?? 0), fields[4]);
    else if (kind === Kind.mark) {
      // Everything the broker sent before this mark is read: it may send that much more (see FEATURE_MARKS).
      this.#dealerQueue.send([Kind.mark, fields[2] ?? ""]).catch(() => undefined);
    } else if (kind === Kind.beat && this.#bootId !== undefined && fields[2] !== this.#bootId) {
      // The broker restarted and forgot this client: register again.
      this.#hello();
    }
  };

  async #receiveDeliveries(): Promise<void> {
    try {
      await receiveEach(this.#sub, this.#onPublished);
    } catch (error) {
      if (!this.#closed) this.#report(new ZmqProtocolError("receive from broker failed:", String(error)));
    }
  }

  // The broker took the batch but refused these acknowledged messages at once: nobody subscribes to them.
  #reportNoSubscriber(text: string): void {
    for (const entry of this.#refusals(text)) {
      if (Array.isArray(entry) && typeof entry[0] === "string" && typeof entry[1] === "string") {
        this.#report(new BrokerNoSubscriberError(entry[1], entry[0]));
      }
    }
  }

  // The broker took the batch but refused these acknowledged messages for good (see BrokerRefusedError):
  // the batch is settled, so they are not sent again; each is reported and counted.
  #reportInvalid(text: string): void {
    for (const entry of this.#refusals(text)) {
      if (Array.isArray(entry) && typeof entry[0] === "string" && typeof entry[1] === "string" && typeof entry[2] === "string") {
        this.brokerStats.refused++;
        this.#report(new BrokerRefusedError(entry[1], entry[0], entry[2]));
      }
    }
  }

  // A receipt's list of refused messages (JSON array); anything else is reported and taken as empty.
  #refusals(text: string): unknown[] {
    let refused: unknown;
    try {
      refused = JSON.parse(text);
    } catch {
      refused = undefined;
    }
    if (Array.isArray(refused)) return refused;
    this.#report(new ZmqProtocolError("receipt with a bad list of refused messages:", text));
    return [];
  }

  // `features`: what the broker takes beyond protocol 2 (none from an older broker).
  #welcome(bootId: string | undefined, version: number, features = ""): void {
    if (bootId === undefined) return;
    this.#oneFramePublish = features.includes(FEATURE_ONE_FRAME_PUBLISH);
    for (const waiter of this.#welcomeWaiters) if (waiter.version <= version) waiter.resolve();
    if (this.#bootId !== undefined && this.#bootId !== bootId) this.brokerStats.reconnects++;
    this.#bootId = bootId;
    const welcomed = this.#welcomed;
    this.#welcomed = undefined;
    welcomed?.();
  }

  // `fields`: topic, kind, senderId, flags and maybe a seq, from the first frame; the body is the second.
  #deliver(fields: string[], frames: Buffer[]): void {
    const [topic, , sender, flags = "", receiptSeq] = fields;
    const body = frames[1];
    if (sender === this.clientId) {
      // Our own batch, broadcast to everyone; a seq makes it the batch's receipt (see broker-protocol.ts).
      if (receiptSeq !== undefined) this.#settle(receiptSeq, undefined);
      return;
    }
    // A delivery addressed to this client may carry the receipt of its own batch (on a broadcast from
    // another client, a seq is that client's receipt, not ours).
    if (receiptSeq !== undefined && topic === this.clientId) this.#settle(receiptSeq, undefined);
    // Line by line from the bytes: decoding each envelope on its own is faster than decoding the whole
    // body into one large string and splitting it.
    const { starts, ends } = body === undefined ? { starts: [], ends: [] } : splitLines(body);
    if (
      frames.length !== 2 ||
      fields.length < 4 ||
      fields.length > 5 ||
      body === undefined ||
      flags.length !== starts.length ||
      !FLAGS.test(flags)
    ) {
      this.stats.rejected += Math.max(1, starts.length);
      this.#report(
        new ZmqProtocolError(
          "delivery whose flags do not match its envelopes:",
          `${flags.length} flag(s), ${starts.length} line(s)`,
        ),
      );
      return;
    }
    for (let i = 0; i < starts.length; i++) {
      this.#deliverLine(body, starts[i] as number, ends[i] as number, flags[i] === ACK_REQUIRED);
    }
  }

  /**
   * A well-formed DELIVER (see broker-protocol.ts), its first frame read as bytes: `#deliver` splits it into
   * strings (the frame, its fields), ~470 bytes on every one-message round trip. False, having done
   * nothing, for any other frame or any doubt (a field missing or extra, a flag or seq not as this link's
   * broker writes them, flags not matching the lines): the general path then takes it, and reports it.
   */
  #deliverFast(first: Buffer, body: Buffer): boolean {
    const topicEnd = first.indexOf(SPACE);
    if (topicEnd <= 0 || first[topicEnd + 1] !== DELIVER_KIND || first[topicEnd + 2] !== SPACE) return false;
    const senderStart = topicEnd + 3;
    const senderEnd = first.indexOf(SPACE, senderStart);
    if (senderEnd === -1) return false;
    const flagsStart = senderEnd + 1;
    const seqSpace = first.indexOf(SPACE, flagsStart);
    const flagsEnd = seqSpace === -1 ? first.length : seqSpace;
    if (flagsEnd === flagsStart) return false;
    for (let i = flagsStart; i < flagsEnd; i++) if (first[i] !== FLAG_NO_ACK && first[i] !== FLAG_ACK) return false;
    const seq = seqSpace === -1 ? undefined : seqNumber(first, seqSpace + 1);
    if (seq === -1) return false;
    if (this.#isMe(first, senderStart, senderEnd)) {
      // Our own batch, broadcast to everyone; a seq makes it the batch's receipt (see broker-protocol.ts).
      if (seq !== undefined) this.#settle(seq, undefined);
      return true;
    }
    if (body.length === 0) return false;
    const { starts, ends } = splitLines(body);
    if (starts.length !== flagsEnd - flagsStart) return false;
    // A delivery addressed to this client may carry the receipt of its own batch (see #deliver).
    if (seq !== undefined && this.#isMe(first, 0, topicEnd)) this.#settle(seq, undefined);
    for (let i = 0; i < starts.length; i++) {
      this.#deliverLine(body, starts[i] as number, ends[i] as number, first[flagsStart + i] === FLAG_ACK);
    }
    return true;
  }

  // Whether bytes [start, end) of `frame` are this client's id.
  // Byte by byte: Buffer#compare with offsets checks its arguments and calls into C++ (~70 ns against ~17).
  #isMe(frame: Buffer, start: number, end: number): boolean {
    const id = this.#idBytes;
    if (end - start !== id.length) return false;
    for (let i = 0; i < id.length; i++) if (frame[start + i] !== id[i]) return false;
    return true;
  }

  // One envelope line of a delivery, bytes [start, end) of its body.
  #deliverLine(body: Buffer, start: number, end: number, acknowledged: boolean): void {
    let value: unknown;
    try {
      value = JSON.parse(body.toString("utf8", start, end));
    } catch (error) {
      this.stats.rejected++;
      this.#report(new ZmqProtocolError("delivery that is not JSON:", (error as Error).message));
      return;
    }
    try {
      // A compact envelope becomes the object fromEnvelope validates (in `receive`); an envelope
      // object (held in a persist file by an older broker) passes as it is.
      value = fromCompactEnvelope(value);
    } catch (error) {
      this.stats.rejected++;
      this.#report(error as BerryError);
      return;
    }
    if (acknowledged) {
      this.#receiveAcknowledged(value);
      return;
    }
    try {
      this.receive(value); // validates the envelope: the security boundary
    } catch (error) {
      this.#report(error as BerryError);
    }
  }

  // Acknowledges once every follower reached has finished (async ones included); see README.
  #receiveAcknowledged(value: unknown): void {
    const messageId = isPlainObject(value) && typeof value.messageId === "string" ? value.messageId : undefined;
    if (messageId !== undefined && this.#consumed.has(messageId)) {
      this.#queueAck(messageId); // a resend: our earlier acknowledgement was lost
      return;
    }
    // Dispatch happens inside this call, in delivery order; only the acknowledgement waits.
    this.receiveSettled(value).then(
      (reached) => {
        // undefined: a duplicate (a resend while the first copy is still being handled: that one acks).
        if (reached === undefined || messageId === undefined) return;
        if (reached === 0) {
          this.brokerStats.unconsumed++;
          return;
        }
        this.#consumed.add(messageId);
        this.#queueAck(messageId);
      },
      (error: unknown) => this.#report(error as BerryError),
    );
  }

  // Acknowledgements settled in the same turn go out as one ACK frame.
  #queueAck(messageId: string): void {
    this.#acks.push(messageId);
    if (this.#acks.length > 1) return;
    setImmediate(() => {
      const acks = this.#acks;
      this.#acks = [];
      if (this.#closed) return;
      this.brokerStats.acksSent += acks.length;
      // A lost acknowledgement only costs a resend, which is acknowledged again.
      this.#dealerQueue.send([Kind.ack, JSON.stringify(acks)]).catch(() => undefined);
    });
  }

  // An `error` listener that throws becomes a process warning (as a bus's does): thrown inside a receive
  // loop it ended the loop, and receipts or deliveries were never read again.
  #report(error: BerryError): void {
    emitError(this, error, (unheard) => this.bus.report(unheard));
  }
}

function brokerError(text: string, clientId: string): BerryError {
  let parsed: { code?: unknown; message?: unknown; limit?: unknown; refused?: unknown; bound?: unknown } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return new ZmqProtocolError("broker refused a batch:", text);
  }
  if (parsed.code === "BROKER_FULL") {
    const bound = parsed.bound === "maxUnackedBytes" ? "maxUnackedBytes" : "maxUnacked"; // older brokers: count only
    return new BrokerFullError(Number(parsed.limit), Number(parsed.refused), bound);
  }
  if (parsed.code === "BROKER_QUOTA") {
    const bound = parsed.bound === "maxUnackedBytesPerClient" ? "maxUnackedBytesPerClient" : "maxUnackedPerClient"; // older brokers: count only
    return new BrokerQuotaError(clientId, Number(parsed.limit), Number(parsed.refused), bound);
  }
  return new ZmqProtocolError("broker refused a batch:", String(parsed.message));
}

function tooLarge(bytes: number, max: number): string {
  return `its line is ${bytes} bytes, over maxMessageBytes (${max}): the broker would cut the connection`;
}
