import { randomInt, randomUUID } from "node:crypto";
import { EventEmitter } from "eventemitter3";
import * as zmq from "zeromq";
import { emitEach, eventKey } from "../../lib/emit-each.js";
import { type BerryError, emitError, errorText, InvalidArgumentError } from "../../lib/errors.js";
import type { Identifier } from "../../lib/identifier.js";
import { checkDuration, checkTimerDelay } from "../../lib/long-timer.js";
import { fromCompactEnvelope } from "../compact-envelope.js";
import { fromEnvelope } from "../envelope.js";
import { AckLog, type FsyncPolicy, type HeldMessage } from "./ack-log.js";
import {
  acknowledgedLineFault,
  BadBatchError,
  joinLines,
  linesForSending,
  type PublishBatch,
  readPublishBatch,
  sliceLines,
} from "./batch-body.js";
import {
  ACK_REQUIRED,
  BROADCAST,
  BROKER_FEATURES,
  CLIENT_ID,
  deliverFrame,
  FEATURE_CARRIED_RECEIPT,
  FEATURE_COMPACT,
  FEATURE_MARKS,
  Kind,
  pubFrame,
} from "./broker-protocol.js";
import { portNumber, positiveInteger } from "./check-options.js";
import { checkMaxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES } from "./message-bytes.js";
import { type DeadLetter, DeadLetterFile } from "./dead-letters.js";
import { checkPolicy, type NoSubscriberPolicy } from "./delivery-policy.js";
import {
  BrokerFullError,
  BrokerListenerError,
  BrokerQuotaError,
  BrokerRefusedError,
  PersistError,
  ZmqProtocolError,
} from "./errors.js";
import { receiveEach } from "./receive-loop.js";
import { ReportRate } from "./report-rate.js";
import { SendQueue } from "./send-queue.js";
import { SubscriptionTable } from "./subscription-table.js";

/** Options of {@link Broker}. */
export interface BrokerOptions {
  /** Address to bind on (default `127.0.0.1`). */
  bind?: string;
  /** Port clients subscribe to (PUB; default 7201; 0 picks a free one). */
  pubPort?: number;
  /** Port clients send to (ROUTER; default 7202; 0 picks a free one). */
  recvPort?: number;
  /** Append-only log of unacknowledged messages; without it they live in memory only. */
  persistFile?: string;
  /**
   * Largest batch body a client should send, in bytes (default 16 MiB, from 1 KiB): a client sending a
   * frame over twice this is cut by libzmq before the frame is read (a hostile 1 GB frame was read whole).
   * Give each BrokerLink a `maxMessageBytes` no larger.
   */
  maxMessageBytes?: number;
  /** When the persist file reaches the disk (default `"batch"`); see {@link FsyncPolicy}. */
  fsync?: FsyncPolicy;
  /** How long an unacknowledged message waits before it is sent again, in ms (default 1,000). */
  resendInterval?: number;
  /** Most unacknowledged messages held; batches past it are refused with BrokerFullError (default 10,000). */
  maxUnacked?: number;
  /**
   * Most bytes of unacknowledged messages held (their lines as sent); batches past it are refused with
   * BrokerFullError (default 268,435,456: 256 MiB). A count alone let 10,000 messages of 16 MiB hold 160 GB.
   */
  maxUnackedBytes?: number;
  /**
   * Most unacknowledged messages held for one publishing client; its batches past it are refused with
   * BrokerQuotaError, so one publisher cannot fill `maxUnacked` for everyone (default 1,000).
   */
  maxUnackedPerClient?: number;
  /**
   * Most bytes of unacknowledged messages held for one publishing client (their lines as sent); its batches
   * past it are refused with BrokerQuotaError (default a tenth of `maxUnackedBytes`: 26,843,545). A count
   * alone let one client's 1,000 messages of 300 KB fill maxUnackedBytes for every client. A batch larger
   * than it alone is taken while the client holds nothing, else it could never be.
   */
  maxUnackedBytesPerClient?: number;
  /** Default ms an unacknowledged message is held before it becomes a dead letter (default 3,600,000: 1 h; `Infinity`: never). */
  expiry?: number;
  /** Longest expiry a message may ask for, in ms; longer ones (`Infinity` included) are cut to it (default 86,400,000: 24 h). */
  maxExpiry?: number;
  /** Default for acknowledged messages that match no subscriber at send time (default `"hold"`). */
  noSubscriber?: NoSubscriberPolicy;
  /** Dead letters are appended here (JSON lines; `berrymq broker dead-letters FILE` lists them); without it, only the event. */
  deadLetterFile?: string;
  /** Interval of the broker's heartbeat to clients, in ms (default 1,000). */
  heartbeatInterval?: number;
  /** A client silent this long (ms) is forgotten (default 5,000); it registers again on its next heartbeat. */
  clientTimeout?: number;
  /**
   * How long the receipt of a batch from a client that takes receipts on deliveries (every BrokerLink) may
   * wait for a DELIVER to that client to ride on, in ms, before it goes alone (default 1; 0: at once).
   * Only a client sent a delivery lately (within ten receiptDelays, at least 10 ms) waits: a ping-pong then
   * needs no separate receipt, and a client that only publishes gets its receipts at once. Receipts that
   * report a refusal, and those of batches holding acknowledged messages, never wait.
   */
  receiptDelay?: number;
  /** Most clients registered at once (default 10,000); a HELLO from one more is refused until one leaves. */
  maxClients?: number;
  /** Most subscription patterns of one client (default 1,000); a HELLO with more is refused. */
  maxPatterns?: number;
  /**
   * Most bytes of one client's pattern list, as its HELLO sends it (a JSON array; default 1,048,576: 1 MiB);
   * a HELLO with more is refused. Also bounds the replaced pattern sets the broker keeps for the client (see
   * the README: a client that unsubscribed while its follower ran still acknowledges). Identifiers have no
   * length limit: 1,000 patterns of 30 KB, kept with 8 replaced sets, held 270 MB per client.
   */
  maxPatternBytes?: number;
  /**
   * Most bytes of deliveries sent to one subscriber and not yet read by it (default 268,435,456: 256 MiB):
   * past it, deliveries to that subscriber are dropped, as libzmq drops them past the PUB socket's 100,000
   * messages queued for one subscriber (acknowledged ones are held and resent; the others are lost to it),
   * until it has read what it was sent. A count alone let 100,000 messages of 16 MiB queue for a subscriber
   * that does not read. A delivery larger than it alone goes while the subscriber has nothing unread.
   * Bounds the clients that answer the broker's marks (BrokerLink; HELLO feature "k"); others by count only.
   */
  maxSubscriberQueueBytes?: number;
  /** Receives a line per notable event (the CLI's `--verbose` prints them). */
  log?: (line: string) => void;
}

/** Counters of a broker. */
export interface BrokerStats {
  /** Messages received from clients. */
  received: number;
  /** Messages sent to clients (a broadcast counts once), resends included. */
  delivered: number;
  /** Messages sent again because nobody had acknowledged them. */
  resent: number;
  /** Acknowledged (and so released) messages. */
  acked: number;
  /** Acknowledged messages refused because `maxUnacked`, `maxUnackedBytes` or a client quota was reached. */
  refused: number;
  /** Acknowledged messages refused at once because no subscriber matched (`noSubscriber: "refuse"`). */
  noSubscriber: number;
  /**
   * Acknowledged messages refused at once, for good, because their line is not a valid envelope or names
   * another identifier or messageId than its head entry (BrokerRefusedError; see acknowledgedLineFault).
   */
  invalid: number;
  /** Held messages that expired into dead letters. */
  expired: number;
  /** Messages without acknowledgement that no client subscribed to. */
  unrouted: number;
  /** Frames refused as not following the protocol. */
  rejected: number;
  /** Deliveries (DELIVER frames) not sent to a subscriber that had `maxSubscriberQueueBytes` unread. */
  slowDropped: number;
  /**
   * Errors clients caused (a bad frame, a refused batch or line, a foreign ack) not emitted on `error`:
   * at most 10 are, a second.
   */
  unreported: number;
}

/** Events of a broker. */
export interface BrokerEvents {
  /** A refused batch, a bad frame, a persist failure, a failed send. */
  error: [error: BerryError];
  /** A client registered. */
  client: [clientId: string];
  /** A client left or went silent past `clientTimeout`. */
  "client-gone": [clientId: string];
  /** A held message expired unacknowledged (after it reached the dead-letter file, when there is one). */
  "dead-letter": [letter: DeadLetter];
}

// Times in a held message: `heldAt` and `expiresAt` are wall-clock epoch ms, written to the persist file
// (a deadline must survive a restart); `deadline` and `lastSent` are performance.now(), which the broker
// runs on: a wall clock stepped back an hour stopped every resend for an hour, and one stepped forward
// dead-lettered at once messages held a second.
interface Held extends HeldMessage {
  expiresAt: number;
  deadline: number;
  frame: Buffer;
  lastSent: number;
  // Its place in the order messages were held (Broker's #holds): a message held again after a lost receipt
  // keeps its first. Set by #take.
  order: number;
}

// A held message keeps its envelope only as the bytes it came in: the text, for the persist file and
// dead letters, is decoded when they need it. Held as a string too it was ~300 bytes more per message
// alive until its acknowledgement, which the young-generation GC copied and promoted.
class HeldEntry implements Held {
  order = 0;
  constructor(
    readonly messageId: string,
    readonly identifier: string,
    readonly senderId: string,
    readonly frame: Buffer,
    readonly heldAt: number,
    public expiresAt: number,
    public deadline: number,
    public lastSent: number,
  ) {}

  get payload(): string {
    return this.frame.toString();
  }
}

const TO_ALL: readonly string[] = Object.freeze([BROADCAST]);

// The first byte of a one-frame PUBLISH ("P<headJson>\n<body>"), and what ends its head.
const PUBLISH_BYTE = Kind.publish.charCodeAt(0);
const NEWLINE = 0x0a;

/** The reason a receipt gives for an acknowledged message whose messageId is held for another client. */
const HELD_FOR_ANOTHER = "its messageId is held for another client";

// What the broker keeps of a client between its messages, in one record that lives as long as the client
// is known: the receipt it is owed and when it was last sent a delivery change on most messages, and kept
// in Maps (set, then deleted: a Map emptied shrinks its table and grows it again) they allocated ~300
// bytes on every one-message round trip.
class Peer {
  takesCarried = false;
  // The receipt owed to this client (a link has one batch in flight) and when it must go alone as "R".
  owedSeq: string | undefined = undefined;
  owedDue = 0;
  // Whether it is in #owedQueue.
  queued = false;
  lastDelivery = Number.NEGATIVE_INFINITY;
  // When it was last offered the held messages its changed patterns match (Date-free: performance.now()).
  lastOffer = Number.NEGATIVE_INFINITY;
  // Its HELLO said it answers marks (feature "k"): what it was sent and has not read is bounded.
  takesMarks = false;
  // Bytes of deliveries sent to it alone, and the broadcast bytes sent before it was known (not its own),
  // less where its count starts (see MARK_START).
  sent = 0;
  readonly broadcastBase: number;
  // The mark it last answered (all it was sent up to then is read), and the last mark sent to it.
  read: number;
  marked: number;
  // Whether deliveries to it are dropped, being past maxSubscriberQueueBytes (it is in Broker.#fullPeers).
  full = false;
  // The pattern sets its HELLOs replaced, oldest first, at most DROPPED_KEPT: a message held before then may
  // have gone to it, and it acknowledges once its follower is done. `upTo`: the last message held (its
  // Held.order) when the set was replaced; `at`: when (performance.now()). Told apart by Date.now(), a
  // message held in the same millisecond after the change, or any while the wall clock was stepped back
  // behind it, counted as held before: acknowledged by a client it was never sent to.
  dropped: { readonly patterns: readonly Identifier[]; readonly upTo: number; readonly at: number; readonly bytes: number }[] = [];
  // The bytes of its pattern list as its last HELLO taken sent it (what maxPatternBytes bounds).
  patternBytes = 0;
  constructor(
    readonly clientId: string,
    broadcastBytes: number,
  ) {
    const start = randomInt(MARK_START);
    this.broadcastBase = broadcastBytes - start;
    this.read = start;
    this.marked = start;
  }
}

// Each record of a client counts the bytes sent to it from a random start below this (2^47): the echo of
// a mark sent to an earlier record (the client forgotten and back, or a predecessor broker's; a link echoes
// what was queued for it as it reads it) then falls outside the new record's range and is ignored. Counted
// from 0, it was taken as a mark of the new record once that was sent as much: read, for a client that
// had read nothing of it.
const MARK_START = 2 ** 47;

// Ms after a failed rewrite of a deleted or replaced persist file before another is tried.
const REWRITE_RETRY = 1_000;

// Pattern sets a client replaced that still let it acknowledge what it was sent under them (see Peer.dropped).
const DROPPED_KEPT = 8;

// What a delivery counts for a subscriber's unread bytes beside its body: its first frame and libzmq's own.
const DELIVER_OVERHEAD = 64;

// A run of consecutive batch lines [from, to) going to the same topics.
interface Group {
  topics: readonly string[];
  key: string;
  from: number;
  to: number;
}

/**
 * The message broker (mezzenger's server, done right): clients send on the recv port and receive on the
 * pub port; each message goes to every client with a matching berryMQ pattern. A message sent with
 * acknowledgement is held (and logged to the persist file) and resent until a subscriber acknowledges it.
 * @example
 * const broker = await Broker.start({ pubPort: 7201, recvPort: 7202, persistFile: "/var/lib/berrymq/acks.log" });
 * // ... clients connect with BrokerLink ...
 * broker.close();
 */
export class Broker extends EventEmitter<BrokerEvents> {
  /** Changes on every start: clients that see a new one register again. */
  readonly bootId = randomUUID();
  readonly stats: BrokerStats = {
    received: 0,
    delivered: 0,
    resent: 0,
    acked: 0,
    refused: 0,
    noSubscriber: 0,
    invalid: 0,
    expired: 0,
    unrouted: 0,
    rejected: 0,
    slowDropped: 0,
    unreported: 0,
  };
  readonly #router: zmq.Router;
  readonly #pub: zmq.Publisher;
  readonly #pubQueue: SendQueue;
  readonly #routerQueue: SendQueue;
  readonly #clients = new SubscriptionTable();
  readonly #held = new Map<string, Held>();
  // Messages held so far: the next one's Held.order is one more.
  #holds = 0;
  // Bytes of the lines in #held, bounded by maxUnackedBytes.
  #heldBytes = 0;
  // Held messages per publishing client: what maxUnackedPerClient bounds.
  readonly #heldBy = new Map<string, number>();
  // Bytes of the held messages per publishing client: what maxUnackedBytesPerClient bounds.
  readonly #heldBytesBy = new Map<string, number>();
  readonly #options: Required<Omit<BrokerOptions, "persistFile" | "log" | "deadLetterFile">>;
  readonly #logLine: ((line: string) => void) | undefined;
  #log: AckLog | undefined;
  #deadLetters: DeadLetterFile | undefined;
  #timers: NodeJS.Timeout[] = [];
  // Per client: whether its HELLO said it takes the receipt of its batch on a DELIVER to it (feature "r"),
  // the receipt owed to it, and when it was last sent a DELIVER (performance.now()). A receipt waits only
  // for a client in a conversation (sent a delivery lately), so that one that only publishes never waits
  // for nothing; an owed receipt rides on the next DELIVER to its client, or goes alone as "R" once
  // receiptDelay has passed.
  readonly #peers = new Map<string, Peer>();
  // Clients owed a receipt, oldest first (an entry whose receipt went out already is dropped by #payOwed).
  readonly #owedQueue: Peer[] = [];
  #owedCount = 0;
  #owedTimer: NodeJS.Timeout | undefined;
  #lastBroadcast = Number.NEGATIVE_INFINITY;
  // Bytes of deliveries broadcast so far (each subscriber's count includes them), and when the subscribers
  // are next checked against maxSubscriberQueueBytes for them.
  #broadcastBytes = 0;
  #nextBroadcastCheck = 0;
  // Subscribers past maxSubscriberQueueBytes: while there is one, nothing is broadcast (it would reach it).
  readonly #fullPeers = new Set<Peer>();
  // A subscriber is sent a mark each time this many more bytes were sent to it.
  readonly #markEvery: number;
  #pubPort = 0;
  #recvPort = 0;
  #closed = false;
  readonly #reportRate = new ReportRate();
  // The last failed rewrite of a persist file deleted or replaced under the broker (see #rewriteLog).
  #rewriteFailure: { at: number; error: PersistError } | undefined;

  private constructor(options: BrokerOptions) {
    super();
    this.#options = {
      bind: options.bind ?? "127.0.0.1",
      pubPort: portNumber("pubPort", options.pubPort ?? 7201),
      recvPort: portNumber("recvPort", options.recvPort ?? 7202),
      fsync: options.fsync ?? "batch",
      resendInterval: checkTimerDelay("resendInterval", options.resendInterval ?? 1_000),
      maxUnacked: positiveInteger("maxUnacked", options.maxUnacked ?? 10_000),
      maxUnackedBytes: positiveInteger("maxUnackedBytes", options.maxUnackedBytes ?? 256 * 1024 * 1024),
      maxUnackedPerClient: positiveInteger("maxUnackedPerClient", options.maxUnackedPerClient ?? 1_000),
      maxUnackedBytesPerClient: positiveInteger(
        "maxUnackedBytesPerClient",
        options.maxUnackedBytesPerClient ?? Math.max(1, Math.floor((options.maxUnackedBytes ?? 256 * 1024 * 1024) / 10)),
      ),
      expiry: checkDuration("expiry", options.expiry ?? 3_600_000),
      maxExpiry: checkDuration("maxExpiry", options.maxExpiry ?? 86_400_000),
      noSubscriber: checkPolicy("options", { noSubscriber: options.noSubscriber ?? "hold" }).noSubscriber ?? "hold",
      heartbeatInterval: checkTimerDelay("heartbeatInterval", options.heartbeatInterval ?? 1_000),
      clientTimeout: checkTimerDelay("clientTimeout", options.clientTimeout ?? 5_000),
      receiptDelay: checkTimerDelay("receiptDelay", options.receiptDelay ?? 1, 0),
      maxClients: positiveInteger("maxClients", options.maxClients ?? 10_000),
      maxPatterns: positiveInteger("maxPatterns", options.maxPatterns ?? 1_000),
      maxPatternBytes: positiveInteger("maxPatternBytes", options.maxPatternBytes ?? 1_048_576),
      maxSubscriberQueueBytes: positiveInteger("maxSubscriberQueueBytes", options.maxSubscriberQueueBytes ?? 256 * 1024 * 1024),
      maxMessageBytes: checkMaxMessageBytes(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES),
    };
    if (options.fsync !== undefined && options.fsync !== "batch" && options.fsync !== "none") {
      throw new InvalidArgumentError("fsync", options.fsync, '"batch" or "none"');
    }
    this.#logLine = options.log;
    this.#markEvery = Math.max(1, Math.floor(this.#options.maxSubscriberQueueBytes / 8));
    this.#nextBroadcastCheck = this.#markEvery;
    const { maxMessageBytes } = this.#options;
    // Twice the bound, as the RPC sockets: the head frame beside a full body, and room for a link set a
    // little above the broker; libzmq cuts the sender's connection past it without reading the frame.
    this.#router = new zmq.Router({
      linger: 0,
      receiveHighWaterMark: 10_000,
      maxMessageSize: Math.min(maxMessageBytes * 2, Number.MAX_SAFE_INTEGER),
      // A link's new connection takes its routing id from the old one. Without it, a connection whose
      // client side was gone while this side stayed open (a NAT rebinding, a link dead without a TCP close)
      // kept the id for good, and the ROUTER never served the link's new connection under it (libzmq leaves
      // a refused connection unserved even once the old one closed): the link was cut off silently. The
      // clients are trusted peers (README): one could take another's id as well by connecting when it is away.
      handover: true,
      // ZMTP heartbeats, answered by the client's libzmq (not its JavaScript): a connection that brings
      // nothing for clientTimeout after a PING is closed, rather than held open for good.
      heartbeatInterval: this.#options.heartbeatInterval,
      heartbeatTimeout: this.#options.clientTimeout,
    });
    // A PUB socket drops past its high-water mark: keep it well above any burst a batch can make. It counts
    // messages, whatever their size: the bytes are bounded by maxSubscriberQueueBytes (see #fits).
    // ZMTP heartbeats as on the ROUTER: a subscriber's connection dead without a TCP close is closed after
    // clientTimeout, rather than kept, with up to sendHighWaterMark messages queued for it.
    this.#pub = new zmq.Publisher({
      linger: 0,
      sendHighWaterMark: 100_000,
      heartbeatInterval: this.#options.heartbeatInterval,
      heartbeatTimeout: this.#options.clientTimeout,
    });
    this.#pubQueue = new SendQueue(this.#pub, (failure) => {
      if (!this.#closed) this.#report(new ZmqProtocolError("publish failed:", errorText(failure)));
    });
    this.#routerQueue = new SendQueue(this.#router);
  }

  /**
   * Binds both ports, replays the persist file and starts serving.
   * @throws PersistError when the persist file cannot be read; a zeromq error when a port is taken.
   */
  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const broker = new Broker(options);
    // Reported once the ports are bound and `start` returned, so that listeners see them.
    const refused: (BrokerRefusedError | PersistError)[] = [];
    try {
      if (options.deadLetterFile !== undefined) broker.#deadLetters = new DeadLetterFile(options.deadLetterFile);
      if (options.persistFile !== undefined) {
        // A record from before expiry existed expires `expiry` after the first start that reads it.
        const { log, held, skipped } = AckLog.open(options.persistFile, broker.#options.fsync, Date.now() + broker.#options.expiry);
        broker.#log = log;
        if (skipped > 0) {
          const why = new Error(
            `${skipped} record(s) that are no held message or release were skipped (not a torn last line: the file was changed by hand, or damaged)`,
          );
          refused.push(new PersistError(options.persistFile as string, why));
        }
        const now = Date.now();
        const clock = performance.now();
        // A file written before acknowledged lines were checked may hold lines the check now refuses (a
        // forgery taking another message's id): refused for good here too, never delivered.
        for (const message of held) {
          const fault = heldLineFault(message);
          if (fault !== undefined) {
            refused.push(new BrokerRefusedError(message.identifier, message.messageId, fault));
            continue;
          }
          const expiresAt = message.expiresAt ?? now + broker.#options.expiry;
          broker.#take(
            new HeldEntry(
              message.messageId,
              message.identifier,
              message.senderId,
              Buffer.from(message.payload),
              message.heldAt,
              expiresAt,
              clock + (expiresAt - now),
              Number.NEGATIVE_INFINITY,
            ),
          );
        }
        // What expired while the broker was down becomes a dead letter at the first sweep, which runs
        // before any held message is sent (and after `start` returned, so that listeners see it).
        const invalid = refused.filter((error): error is BrokerRefusedError => error instanceof BrokerRefusedError);
        if (invalid.length > 0) {
          broker.stats.invalid += invalid.length;
          log.acked(invalid.map((error) => error.messageId));
          log.sync();
        }
        broker.#say(`replayed ${held.length - invalid.length} unacknowledged message(s) from ${options.persistFile}`);
      }
      const { bind } = broker.#options;
      broker.#pubPort = await bindTo(broker.#pub, bind, broker.#options.pubPort);
      broker.#recvPort = await bindTo(broker.#router, bind, broker.#options.recvPort);
      if (refused.length > 0)
        setImmediate(() => {
          for (const error of refused) broker.#report(error);
        });
    } catch (error) {
      broker.close();
      throw error;
    }
    broker.#say(
      `listening: pub tcp://${broker.#options.bind}:${broker.#pubPort}, recv tcp://${broker.#options.bind}:${broker.#recvPort}`,
    );
    void broker.#serve();
    const { heartbeatInterval, resendInterval } = broker.#options;
    broker.#timers.push(
      setInterval(() => broker.#beat(), heartbeatInterval).unref(),
      setInterval(() => broker.#resendDue(), Math.max(10, Math.floor(resendInterval / 2))).unref(),
    );
    return broker;
  }

  /** The bound pub port (useful with `pubPort: 0`). */
  get pubPort(): number {
    return this.#pubPort;
  }

  /** The bound recv port. */
  get recvPort(): number {
    return this.#recvPort;
  }

  /** Unacknowledged messages held now. */
  get held(): number {
    return this.#held.size;
  }

  /** Registered clients. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Stops serving and closes both sockets (linger 0) and the persist file; held messages stay in the file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    if (this.#owedTimer !== undefined) clearTimeout(this.#owedTimer);
    this.#router.close();
    this.#pub.close();
    for (const file of [this.#log, this.#deadLetters]) {
      try {
        file?.close();
      } catch (error) {
        this.#report(new PersistError(file?.file ?? "", error));
      }
    }
    this.#log = undefined;
    this.#deadLetters = undefined;
  }

  // A frame whose handling throws is reported and the loop goes on: thrown out of it, it ended the loop,
  // the broker bound and beating but reading nothing more.
  readonly #onFrames = (frames: Buffer[]): void => {
    try {
      this.#handle(frames);
    } catch (error) {
      this.#report(new ZmqProtocolError("frame handling failed:", errorText(error)));
    }
  };

  async #serve(): Promise<void> {
    try {
      await receiveEach(this.#router, this.#onFrames);
    } catch (error) {
      if (!this.#closed) this.#report(new ZmqProtocolError("receive loop failed:", String(error)));
    }
  }

  #handle(frames: Buffer[]): void {
    const [identity, kind] = frames;
    const clientId = identity?.toString() ?? "";
    if (!CLIENT_ID.test(clientId) || kind === undefined) {
      this.stats.rejected++;
      this.#reportPeerError(new ZmqProtocolError("frame from an unknown kind of client, routing id", clientId));
      return;
    }
    // Client liveness runs on the monotonic clock (a wall clock stepped forward forgot every client).
    const now = performance.now();
    if (frames.length === 2 && kind.length > 1 && kind[0] === PUBLISH_BYTE) {
      this.#clients.touch(clientId, now);
      this.#publishOneFrame(clientId, kind);
      return;
    }
    switch (kind.toString()) {
      case Kind.hello: {
        const features = frames[4]?.toString() ?? "";
        if (!features.includes(FEATURE_COMPACT)) {
          // A client of protocol 1 would refuse every compact envelope it is sent: it is not welcomed.
          this.stats.rejected++;
          this.#reportPeerError(
            new ZmqProtocolError(
              `hello from ${clientId} refused: a client of broker protocol 1 (an older berrymq; it lacks feature "c", compact envelopes), this broker speaks protocol 2:`,
              features,
            ),
          );
          return;
        }
        this.#hello(clientId, frames[2], frames[3], features, now);
        return;
      }
      case Kind.publish:
        this.#clients.touch(clientId, now);
        this.#publish(clientId, frames);
        return;
      case Kind.ack:
        this.#clients.touch(clientId, now);
        this.#ack(clientId, frames);
        return;
      case Kind.mark:
        this.#clients.touch(clientId, now);
        this.#marked(clientId, frames);
        return;
      case Kind.bye:
        if (this.#clients.delete(clientId)) this.#gone(clientId, "left");
        return;
      default:
        this.stats.rejected++;
        this.#reportPeerError(new ZmqProtocolError("unknown frame kind", kind.toString()));
    }
  }

  #hello(clientId: string, patternsFrame: Buffer | undefined, version: Buffer | undefined, features: string, now: number): void {
    let patterns: unknown;
    let offer = false;
    let oldPatterns: readonly Identifier[] | undefined;
    const patternBytes = patternsFrame?.length ?? 0;
    try {
      // Checked before the frame is read: a list of up to twice maxMessageBytes was parsed, and kept.
      if (patternBytes > this.#options.maxPatternBytes)
        throw new Error(`a pattern list of ${patternBytes} bytes, more than maxPatternBytes ${this.#options.maxPatternBytes}`);
      patterns = JSON.parse(patternsFrame?.toString() ?? "");
      if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === "string")) throw new Error("not an array of strings");
      if (patterns.length > this.#options.maxPatterns)
        throw new Error(`${patterns.length} patterns, more than maxPatterns ${this.#options.maxPatterns}`);
      if (!this.#clients.has(clientId) && this.#clients.size >= this.#options.maxClients) {
        throw new Error(`${this.#clients.size} clients registered already (maxClients)`);
      }
      const before = this.#clients.patternsOf(clientId);
      const change = this.#clients.set(clientId, patterns, now);
      if (change === "new") {
        this.#say(`client ${clientId} registered: ${patternList(patterns)}`);
        this.#emitEach("client", clientId, `client ${clientId}`);
      } else if (change === "changed") {
        this.#say(`client ${clientId} subscribes to: ${patternList(patterns)}`);
      }
      offer = change !== "same";
      oldPatterns = before;
    } catch (error) {
      this.stats.rejected++;
      this.#reportPeerError(
        new ZmqProtocolError(`hello from ${clientId} with bad patterns (${errorText(error)}):`, patternsFrame?.toString("utf8", 0, 100)),
      );
      // A registered client keeps the patterns it had and, being alive, its registration: its HELLOs all
      // refused, it was forgotten after clientTimeout, and its link never knew (a subscribe past
      // maxPatterns silently cut it off). The client is told, with its HELLO's version.
      this.#clients.touch(clientId, now);
      const refusal = JSON.stringify({ code: "ZMQ_PROTOCOL", message: errorText(error) });
      this.#routerQueue.send([clientId, Kind.helloRefused, welcomeVersion(version), refusal]).catch((failure: unknown) => {
        if (!this.#closed) this.#report(new ZmqProtocolError(`hello refusal to ${clientId} failed:`, errorText(failure)));
      });
      return;
    }
    // Only a registered client gets a record (#gone forgets it): a HELLO refused leaves none behind. Its
    // features are known before the held messages are offered to it: taken after, the offer on a first
    // HELLO (up to everything held) went to a client answering marks unbounded and uncounted.
    const peer = this.#peer(clientId);
    peer.takesCarried = features.includes(FEATURE_CARRIED_RECEIPT);
    if (offer && oldPatterns !== undefined) {
      const at = performance.now();
      // Past maxExpiry every message held before a change is gone: that change lets nothing through.
      peer.dropped = peer.dropped.filter((d) => at - d.at <= this.#options.maxExpiry).slice(1 - DROPPED_KEPT);
      peer.dropped.push({ patterns: oldPatterns, upTo: this.#holds, at, bytes: peer.patternBytes });
      // The newest sets whose bytes stay within maxPatternBytes: 8 sets of any size multiplied what one
      // client's patterns held by 9.
      let kept = 0;
      let from = peer.dropped.length;
      while (from > 0 && kept + (peer.dropped[from - 1]?.bytes ?? 0) <= this.#options.maxPatternBytes) {
        from--;
        kept += peer.dropped[from]?.bytes ?? 0;
      }
      if (from > 0) peer.dropped = peer.dropped.slice(from);
    }
    peer.patternBytes = patternBytes;
    const takesMarks = features.includes(FEATURE_MARKS);
    if (takesMarks && !peer.takesMarks) {
      // Answering marks (again), it starts counting afresh, as a new record does: what was broadcast while
      // it did not was counted unread (never marked), and a client that had read it all was full at once.
      const total = peer.sent + this.#broadcastBytes - peer.broadcastBase;
      peer.read = total;
      peer.marked = total;
    }
    peer.takesMarks = takesMarks;
    // One that no longer answers marks is bounded by count only: it would stay full for good.
    if (!peer.takesMarks && peer.full) {
      peer.full = false;
      this.#fullPeers.delete(peer);
    }
    // The welcome echoes the version of the client's patterns: it knows which change was applied.
    this.#sendPub([pubFrame(clientId, Kind.welcome, this.bootId, welcomeVersion(version), BROKER_FEATURES)]);
    // Held messages go to a newcomer (or a client with new patterns) right after its welcome.
    if (offer) this.#offerHeld(clientId, oldPatterns, now);
  }

  // Sends `clientId` alone the held messages its new patterns match and its old ones did not, at most once
  // per resendInterval: the rest reach it at their next resend. It reset every held message's resend time
  // and swept: each HELLO changing one client's patterns (a flood of them) resent everything held to every
  // subscriber.
  #offerHeld(clientId: string, oldPatterns: readonly Identifier[] | undefined, now: number): void {
    if (this.#held.size === 0) return;
    const peer = this.#peer(clientId);
    if (now - peer.lastOffer < this.#options.resendInterval) return;
    peer.lastOffer = now;
    const wanted = new Map<string, boolean>();
    const bySender = new Map<string, Held[]>();
    for (const held of this.#held.values()) {
      if (held.senderId === clientId || held.deadline <= now) continue;
      let want = wanted.get(held.identifier);
      if (want === undefined) {
        want =
          this.#clients.matches(clientId, held.identifier) &&
          !(oldPatterns !== undefined && this.#clients.matches(clientId, held.identifier, oldPatterns));
        wanted.set(held.identifier, want);
      }
      if (!want) continue;
      let parts = bySender.get(held.senderId);
      if (parts === undefined) {
        parts = [];
        bySender.set(held.senderId, parts);
      }
      parts.push(held);
    }
    for (const [senderId, parts] of bySender) this.stats.resent += this.#sendHeld(peer, senderId, parts);
  }

  // Sends `peer` held messages of `senderId` again, in DELIVERs of at most maxMessageBytes each (a message
  // longer alone goes alone): joined into one, everything held for a subscriber (up to maxUnackedBytes, or
  // past Node's largest Buffer) made one frame, which the subscriber's libzmq took whole or cut its
  // connection for. Returns the messages sent (those past maxSubscriberQueueBytes are not), and adds them to
  // `sent` if given.
  #sendHeld(peer: Peer, senderId: string, parts: readonly Held[], sent?: Set<Held>): number {
    const max = this.#options.maxMessageBytes;
    let count = 0;
    let from = 0;
    let bytes = 0;
    for (let i = 0; i <= parts.length; i++) {
      const part = parts[i]?.frame;
      if ((part === undefined && i > from) || (part !== undefined && i > from && bytes + 1 + part.length > max)) {
        // `bytes` is the frame's length: checked before it is joined (a full subscriber was sent nothing,
        // and everything held for it was copied at every resend all the same).
        if (this.#fits(peer, bytes)) {
          const frames = parts.slice(from, i);
          const body = joinLines(frames.map((held) => held.frame));
          this.stats.delivered += frames.length;
          count += frames.length;
          if (sent !== undefined) for (const held of frames) sent.add(held);
          this.#sendPub([pubFrame(peer.clientId, Kind.deliver, senderId, ACK_REQUIRED.repeat(frames.length)), body]);
          this.#sentTo(peer, body.length);
        }
        from = i;
        bytes = 0;
      }
      if (part !== undefined) bytes += (i > from ? 1 : 0) + part.length;
    }
    return count;
  }

  #publish(senderId: string, frames: Buffer[]): void {
    const [, , headFrame, body] = frames;
    if (headFrame === undefined || body === undefined || frames.length !== 4) {
      this.stats.rejected++;
      this.#reportPeerError(new ZmqProtocolError(`publish batch from ${senderId} with a frame count of`, frames.length - 1));
      return;
    }
    this.#publishBatch(senderId, headFrame, body);
  }

  // A PUBLISH in one frame (feature "p" of the WELCOME): the head runs from after the "P" to the first
  // newline (JSON.stringify writes none), the body is the rest. Two frames less on the way (the kind and the
  // head: each one a zeromq message to encode, decode and hand to JS as a Buffer).
  #publishOneFrame(senderId: string, frame: Buffer): void {
    const newline = frame.indexOf(NEWLINE);
    if (newline === -1) {
      this.stats.rejected++;
      this.#reportPeerError(
        new ZmqProtocolError(
          `publish batch from ${senderId} refused: a one-frame PUBLISH has no newline between its head and its body:`,
          frame.toString("utf8", 0, 80),
        ),
      );
      return;
    }
    this.#publishBatch(senderId, frame.subarray(1, newline), frame.subarray(newline + 1));
  }

  #publishBatch(senderId: string, headFrame: Buffer, body: Buffer): void {
    let batch: PublishBatch | undefined;
    try {
      batch = readPublishBatch(headFrame, body);
      // Validates every identifier before anything of the batch is taken.
      for (const identifier of batch.identifiers) this.#clients.targets(identifier);
    } catch (error) {
      this.stats.rejected++;
      this.#reportPeerError(new ZmqProtocolError(`publish batch from ${senderId} refused:`, errorText(error)));
      // A head without a readable seq cannot be answered: its sender times out.
      const seq = batch?.seq ?? (error instanceof BadBatchError ? error.seq : undefined);
      if (seq !== undefined) this.#receipt(senderId, seq, { code: "ZMQ_PROTOCOL", message: errorText(error) });
      return;
    }
    const { seq, bootId: heardBoot } = batch;
    const { identifiers, messageIds, flags, policies, lines } = batch;
    const count = identifiers.length;
    let ackCount = 0;
    let ackBytes = 0;
    // Acknowledged messages that match no subscriber and must be refused rather than held.
    let noSubscriber: Set<number> | undefined;
    // Acknowledged messages whose id is held for another client: neither taken nor delivered (they would
    // replace that client's message, and subscribers would drop its resends as duplicates).
    let foreign: Set<number> | undefined;
    // Acknowledged messages refused for good, with why: neither taken nor delivered, named in the receipt.
    let invalid: Map<number, string> | undefined;
    for (let i = flags.indexOf(ACK_REQUIRED); i !== -1; i = flags.indexOf(ACK_REQUIRED, i + 1)) {
      const fault = acknowledgedLineFault(batch, i);
      if (fault !== undefined) {
        invalid ??= new Map();
        invalid.set(i, fault);
        continue;
      }
      const heldFor = this.#held.get(messageIds[i] as string)?.senderId;
      if (heldFor !== undefined && heldFor !== senderId) {
        foreign ??= new Set();
        foreign.add(i);
      } else if (
        (policies?.[i]?.noSubscriber ?? this.#options.noSubscriber) === "refuse" &&
        !this.#routed(identifiers[i] as string, senderId)
      ) {
        noSubscriber ??= new Set();
        noSubscriber.add(i);
      } else if (heldFor === undefined) {
        ackCount++; // a message held already (the batch sent again after a lost receipt) takes no more room
        ackBytes += (lines.ends[i] ?? 0) - (lines.starts[i] ?? 0);
      }
    }
    if (foreign !== undefined) {
      this.stats.rejected += foreign.size;
      const ids = [...foreign].map((i) => messageIds[i]);
      this.#reportPeerError(
        new ZmqProtocolError(
          `publish from ${senderId}: acknowledged messages whose ids are held for another client, dropped:`,
          ids,
        ),
      );
    }
    const quota = this.#options.maxUnackedPerClient;
    if (ackCount > 0 && (this.#heldBy.get(senderId) ?? 0) + ackCount > quota) {
      this.#refuse(senderId, seq, new BrokerQuotaError(senderId, quota, ackCount), ackCount);
      return;
    }
    // Bytes too (see maxUnackedBytesPerClient); a batch larger than the quota alone is taken while the
    // client holds nothing, as for maxUnackedBytes.
    const bytesQuota = this.#options.maxUnackedBytesPerClient;
    const heldBytesBy = this.#heldBytesBy.get(senderId) ?? 0;
    if (ackCount > 0 && heldBytesBy > 0 && heldBytesBy + ackBytes > bytesQuota) {
      this.#refuse(senderId, seq, new BrokerQuotaError(senderId, bytesQuota, ackCount, "maxUnackedBytesPerClient"), ackCount);
      return;
    }
    if (ackCount > 0 && this.#held.size + ackCount > this.#options.maxUnacked) {
      this.#refuse(senderId, seq, new BrokerFullError(this.#options.maxUnacked, ackCount), ackCount);
      return;
    }
    // A batch larger than the bound alone is taken while nothing is held: refused, it would be refused for
    // ever (nothing held, nothing to free room), and every batch of its link behind it with it.
    if (ackCount > 0 && this.#heldBytes > 0 && this.#heldBytes + ackBytes > this.#options.maxUnackedBytes) {
      this.#refuse(senderId, seq, new BrokerFullError(this.#options.maxUnackedBytes, ackCount, "maxUnackedBytes"), ackCount);
      return;
    }
    this.stats.received += count;
    const now = Date.now();
    const clock = performance.now();
    const others = this.#clients.has(senderId) ? this.#clients.size - 1 : this.#clients.size;
    const newlyHeld: Held[] = [];
    // What the batch's messages replaced (the batch sent again after a lost receipt): held and logged
    // already, kept if this batch cannot be logged.
    let replaced: Held[] | undefined;
    let group: Group | undefined;
    for (let i = 0; i < count; i++) {
      const identifier = identifiers[i] as string;
      const targets = this.#clients.targets(identifier);
      let topics: readonly string[];
      let key: string;
      if (flags[i] === ACK_REQUIRED && (noSubscriber?.has(i) === true || foreign?.has(i) === true || invalid?.has(i) === true)) {
        topics = [];
        key = "";
      } else if (flags[i] === ACK_REQUIRED) {
        // A copy: one held message must not keep its whole batch's buffer alive.
        const frame = Buffer.from(sliceLines(body, lines, i, i + 1));
        const expiry = Math.min(policies?.[i]?.expiry ?? this.#options.expiry, this.#options.maxExpiry);
        const messageId = messageIds[i] as string;
        const held = new HeldEntry(messageId, identifier, senderId, frame, now, now + expiry, clock + expiry, clock);
        const known = this.#held.get(messageId);
        if (known !== undefined) {
          replaced ??= [];
          replaced.push(known);
        }
        this.#take(held);
        newlyHeld.push(held);
        ({ topics, key } = this.#clients.others(identifier, senderId));
      } else if (this.#fullPeers.size === 0 && reachesAllOthers(targets, senderId, others)) {
        // Every other client (two or more) wants it: one broadcast; the sender skips its own message.
        topics = TO_ALL;
        key = BROADCAST;
      } else {
        ({ topics, key } = this.#clients.others(identifier, senderId));
        if (topics.length === 0) this.stats.unrouted++;
      }
      // Consecutive messages with the same recipients share one DELIVER: a run of body lines, sent as is.
      if (group !== undefined && group.key !== key) {
        this.#deliver(senderId, group, batch);
        group = undefined;
      }
      group ??= { topics, key, from: i, to: i };
      group.to = i + 1;
    }
    // The sender hears a broadcast itself: when the batch ends with one and nothing is left to log or
    // report, that DELIVER carries the receipt, which saves a send and a receive per batch. Only for a
    // registered sender that names this broker's bootId (it got this broker's welcome, so its PUB path
    // is up; after a restart it has not yet). If it is lost anyway, the sender times out and sends the
    // batch again (subscribers drop the duplicates), as after a lost receipt.
    const carriesReceipt =
      group?.key === BROADCAST &&
      newlyHeld.length === 0 &&
      noSubscriber === undefined &&
      invalid === undefined &&
      foreign === undefined &&
      heardBoot === this.bootId &&
      this.#clients.has(senderId);
    if (group !== undefined) this.#deliver(senderId, group, batch, carriesReceipt ? seq : undefined);
    if (carriesReceipt) return;
    const mayWait =
      newlyHeld.length === 0 &&
      noSubscriber === undefined &&
      invalid === undefined &&
      foreign === undefined &&
      this.#options.receiptDelay > 0 &&
      this.#peers.get(senderId)?.takesCarried === true &&
      heardBoot === this.bootId &&
      this.#clients.has(senderId) &&
      this.#inConversation(senderId);
    if (mayWait) {
      this.#owe(senderId, seq);
      return;
    }
    if (newlyHeld.length > 0 && this.#log !== undefined) {
      try {
        // A file deleted or replaced under the broker is written anew (everything held, this batch included):
        // appended to, it reached no next start (see AckLog.replaced).
        if (this.#log.replaced()) this.#rewriteLog(this.#log);
        else this.#log.hold(newlyHeld);
        this.#log.sync();
      } catch (error) {
        for (const held of newlyHeld) this.#release(held);
        // Released with the batch, a message confirmed by an earlier send of it was no longer sent to anyone.
        // (Not one of this batch's own: a messageId twice in one batch.)
        for (const known of replaced ?? []) if (!this.#held.has(known.messageId) && !newlyHeld.includes(known)) this.#take(known);
        const failed = error instanceof PersistError ? error : new PersistError(this.#log.file, error);
        this.#report(failed);
        this.#receipt(senderId, seq, { code: failed.code, message: failed.message });
        return;
      }
    }
    let refusedIds: string[][] | undefined;
    if (noSubscriber !== undefined) {
      this.stats.noSubscriber += noSubscriber.size;
      refusedIds = [...noSubscriber].map((i) => [messageIds[i] as string, identifiers[i] as string]);
      this.#say(`refused ${noSubscriber.size} acknowledged message(s) from ${senderId} with no subscriber`);
    }
    let invalidIds: string[][] | undefined;
    // A message whose id is held for another client is lost to its sender for good (counted and reported
    // above as a protocol error): the receipt says so rather than confirming it.
    if (foreign !== undefined) {
      invalidIds = [];
      for (const i of foreign) invalidIds.push([messageIds[i] as string, identifiers[i] as string, HELD_FOR_ANOTHER]);
    }
    if (invalid !== undefined) {
      this.stats.invalid += invalid.size;
      invalidIds ??= [];
      for (const [i, reason] of invalid) {
        const refused = new BrokerRefusedError(identifiers[i] as string, messageIds[i] as string, reason);
        this.#reportPeerError(refused);
        invalidIds.push([refused.messageId, refused.identifier, reason]);
      }
    }
    this.#receipt(senderId, seq, undefined, refusedIds, invalidIds);
  }

  // Whether a client other than the sender subscribes to `identifier`.
  #routed(identifier: string, senderId: string): boolean {
    const targets = this.#clients.targets(identifier);
    return targets.length > (targets.includes(senderId) ? 1 : 0);
  }

  #refuse(senderId: string, seq: string, refused: BrokerFullError | BrokerQuotaError, count: number): void {
    this.stats.refused += count;
    this.#reportPeerError(refused);
    const bound = { bound: refused.bound };
    this.#receipt(senderId, seq, { code: refused.code, message: refused.message, limit: refused.limit, refused: count, ...bound });
  }

  #take(held: Held): void {
    const known = this.#held.get(held.messageId);
    held.order = known !== undefined && known.senderId === held.senderId ? known.order : ++this.#holds;
    this.#held.set(held.messageId, held);
    this.#heldBytes += held.frame.length - (known?.frame.length ?? 0);
    // A batch sent again after a lost receipt holds the same messages again: count each once.
    if (known !== undefined && known.senderId === held.senderId) {
      this.#heldBytesBy.set(held.senderId, (this.#heldBytesBy.get(held.senderId) ?? 0) + held.frame.length - known.frame.length);
      return;
    }
    if (known !== undefined) this.#uncount(known.senderId, known.frame.length);
    this.#heldBy.set(held.senderId, (this.#heldBy.get(held.senderId) ?? 0) + 1);
    this.#heldBytesBy.set(held.senderId, (this.#heldBytesBy.get(held.senderId) ?? 0) + held.frame.length);
  }

  #release(held: Held): void {
    if (this.#held.get(held.messageId) !== held) return;
    this.#held.delete(held.messageId);
    this.#heldBytes -= held.frame.length;
    this.#uncount(held.senderId, held.frame.length);
  }

  #uncount(senderId: string, bytes: number): void {
    const left = (this.#heldBy.get(senderId) ?? 1) - 1;
    if (left > 0) {
      this.#heldBy.set(senderId, left);
      this.#heldBytesBy.set(senderId, (this.#heldBytesBy.get(senderId) ?? bytes) - bytes);
    } else {
      this.#heldBy.delete(senderId);
      this.#heldBytesBy.delete(senderId);
    }
  }

  // `receiptSeq`: this broadcast also confirms the sender's batch of that seq (see #publish). A DELIVER to
  // one client carries the receipt owed to that client, if any.
  #deliver(senderId: string, group: Group, batch: PublishBatch, receiptSeq?: string): void {
    if (group.topics.length === 0) return;
    const count = group.to - group.from;
    const flags = batch.flags.slice(group.from, group.to);
    const body = linesForSending(batch.body, batch.lines, group.from, group.to);
    const now = performance.now();
    for (const topic of group.topics) {
      const peer = topic === BROADCAST ? undefined : this.#peer(topic);
      // Dropped, its receipt owed to the subscriber stays owed (it goes alone as "R").
      if (peer !== undefined && !this.#fits(peer, body.length)) continue;
      this.stats.delivered += count;
      if (peer === undefined) this.#lastBroadcast = now;
      else peer.lastDelivery = now;
      const seq = receiptSeq ?? (this.#owedCount === 0 ? undefined : this.#takeOwed(peer));
      this.#sendPub([deliverFrame(topic, senderId, flags, seq), body]);
      if (peer === undefined) this.#broadcast(body.length);
      else this.#sentTo(peer, body.length);
    }
  }

  // Whether `clientId` was sent a delivery lately (within ten receiptDelays, at least 10 ms): then the next
  // one is likely to come soon enough to carry its receipt.
  #inConversation(clientId: string): boolean {
    const last = Math.max(this.#peers.get(clientId)?.lastDelivery ?? Number.NEGATIVE_INFINITY, this.#lastBroadcast);
    return performance.now() - last <= Math.max(10, this.#options.receiptDelay * 10);
  }

  // The receipt of `clientId`'s batch `seq` waits for a DELIVER to that client (see receiptDelay).
  #owe(clientId: string, seq: string): void {
    const peer = this.#peer(clientId);
    const earlier = this.#takeOwed(peer);
    if (earlier !== undefined) this.#receipt(clientId, earlier, undefined);
    peer.owedSeq = seq;
    peer.owedDue = performance.now() + this.#options.receiptDelay;
    this.#owedCount++;
    if (!peer.queued) {
      peer.queued = true;
      this.#owedQueue.push(peer);
    }
    this.#owedTimer ??= setTimeout(() => this.#payOwed(), this.#options.receiptDelay).unref();
  }

  // The receipt owed to `peer`, if any, which is then no longer owed.
  #takeOwed(peer: Peer | undefined): string | undefined {
    const seq = peer?.owedSeq;
    if (seq === undefined) return undefined;
    (peer as Peer).owedSeq = undefined;
    this.#owedCount--;
    return seq;
  }

  // Sends the receipts that waited receiptDelay for a DELIVER in vain; one timer, armed for the oldest left.
  #payOwed(): void {
    this.#owedTimer = undefined;
    if (this.#closed) return;
    const now = performance.now();
    const queue = this.#owedQueue;
    let kept = 0;
    let next = Number.POSITIVE_INFINITY;
    for (let i = 0; i < queue.length; i++) {
      const peer = queue[i] as Peer;
      if (peer.owedSeq !== undefined && peer.owedDue > now) {
        queue[kept++] = peer;
        next = Math.min(next, peer.owedDue);
        continue;
      }
      peer.queued = false;
      const seq = this.#takeOwed(peer);
      if (seq !== undefined) this.#receipt(peer.clientId, seq, undefined);
    }
    queue.length = kept;
    if (kept > 0) this.#owedTimer = setTimeout(() => this.#payOwed(), Math.max(1, Math.ceil(next - now))).unref();
  }

  // Bytes sent to `peer` (alone or broadcast) that it has not said it read.
  #unread(peer: Peer): number {
    return peer.sent + this.#broadcastBytes - peer.broadcastBase - peer.read;
  }

  // Whether a delivery of `bytes` may go to `peer` (maxSubscriberQueueBytes); if not, it is counted as
  // dropped, and the peer is marked full and sent a mark of all it was sent (read, it can take more).
  #fits(peer: Peer, bytes: number): boolean {
    if (!peer.takesMarks) return true;
    const unread = this.#unread(peer);
    if (unread === 0 || unread + bytes + DELIVER_OVERHEAD <= this.#options.maxSubscriberQueueBytes) return true;
    this.stats.slowDropped++;
    if (!peer.full) this.#fill(peer, unread);
    return false;
  }

  #fill(peer: Peer, unread: number): void {
    peer.full = true;
    this.#fullPeers.add(peer);
    this.#mark(peer, false);
    this.#say(
      `client ${peer.clientId} has ${unread} bytes unread (maxSubscriberQueueBytes ${this.#options.maxSubscriberQueueBytes}): deliveries to it are dropped until it reads them`,
    );
  }

  // Counts a delivery of `bytes` sent to `peer`, and marks it each #markEvery bytes.
  #sentTo(peer: Peer, bytes: number): void {
    if (!peer.takesMarks) return;
    peer.sent += bytes + DELIVER_OVERHEAD;
    if (peer.sent + this.#broadcastBytes - peer.broadcastBase - peer.marked >= this.#markEvery) this.#mark(peer, false);
  }

  // Counts a broadcast delivery; every #markEvery bytes of them, each subscriber is marked if due and
  // checked against its bound (checked on each broadcast, it cost one pass over every client per message).
  #broadcast(bytes: number): void {
    this.#broadcastBytes += bytes + DELIVER_OVERHEAD;
    if (this.#broadcastBytes < this.#nextBroadcastCheck) return;
    this.#nextBroadcastCheck = this.#broadcastBytes + this.#markEvery;
    for (const peer of this.#peers.values()) {
      if (!peer.takesMarks) continue;
      const unread = this.#unread(peer);
      if (!peer.full && unread > this.#options.maxSubscriberQueueBytes) this.#fill(peer, unread);
      else if (peer.sent + this.#broadcastBytes - peer.broadcastBase - peer.marked >= this.#markEvery) this.#mark(peer, false);
    }
  }

  // Sends `peer` a mark of the bytes it was sent so far (`again`: even if it was sent that one already).
  #mark(peer: Peer, again: boolean): void {
    const total = peer.sent + this.#broadcastBytes - peer.broadcastBase;
    if (total === peer.marked && !again) return;
    peer.marked = total;
    this.#sendPub([pubFrame(peer.clientId, Kind.mark, String(total))]);
  }

  // A client read the mark it echoes: what it was sent up to then is no longer unread.
  #marked(clientId: string, frames: Buffer[]): void {
    const total = Number(frames[2]?.toString());
    // Any whole number (not a safe integer only): the marks count every byte sent to a client, past 2^53
    // for one sent 8 PiB, and refusing their echoes left it full for good (doubles lose a few bytes there).
    if (frames.length !== 3 || !Number.isInteger(total) || total < 0) {
      this.stats.rejected++;
      this.#reportPeerError(new ZmqProtocolError(`mark from ${clientId} that is no byte count:`, frames[2]?.toString()));
      return;
    }
    // A client forgotten since (or one answering a mark of this broker's predecessor) has nothing to count.
    const peer = this.#peers.get(clientId);
    if (peer === undefined) return;
    // A mark names what was sent by then: one past it is not this broker's (a predecessor's, or before the
    // client was forgotten and came back).
    if (total <= peer.read || total > peer.sent + this.#broadcastBytes - peer.broadcastBase) return;
    peer.read = total;
    // Only an echo that says it read more ends its being full: just below the bound when it was filled (the
    // next delivery would not fit), it was let go on by any echo at all (one it had answered already, or a
    // mark of no record of it), and broadcasts, unchecked per subscriber, went to it again.
    if (peer.full && this.#unread(peer) < this.#options.maxSubscriberQueueBytes) {
      peer.full = false;
      this.#fullPeers.delete(peer);
      this.#say(`client ${clientId} read what it was sent: deliveries to it go on`);
    }
  }

  #peer(clientId: string): Peer {
    let peer = this.#peers.get(clientId);
    if (peer === undefined) {
      peer = new Peer(clientId, this.#broadcastBytes);
      this.#peers.set(clientId, peer);
    }
    return peer;
  }

  #ack(clientId: string, frames: Buffer[]): void {
    let ids: unknown;
    try {
      ids = JSON.parse(frames[2]?.toString() ?? "");
    } catch {
      ids = undefined;
    }
    if (!Array.isArray(ids) || frames.length !== 3) {
      this.stats.rejected++;
      this.#reportPeerError(new ZmqProtocolError("ack frame that is not a JSON array of message ids:", frames[2]?.toString()));
      return;
    }
    const acked: string[] = [];
    // Only a client a held message goes to (registered, its patterns matching) may release it: any other
    // client could drop messages meant for others by naming their ids.
    // Per identifier, the last message (Held.order) the client may release, worked out once per frame: for
    // each id, the pattern sets the client replaced were matched again (8 sets of up to maxPatterns), and one
    // frame naming a held id 100,000 times (880 KB) held the broker up for 8 s.
    const allowed = new Map<string, number>();
    let foreign = 0;
    for (const messageId of ids) {
      const held = typeof messageId === "string" ? this.#held.get(messageId) : undefined;
      if (held === undefined) continue;
      let upTo = allowed.get(held.identifier);
      if (upTo === undefined) {
        upTo = this.#clients.targets(held.identifier).includes(clientId)
          ? Number.POSITIVE_INFINITY
          : this.#matchedUpTo(clientId, held.identifier);
        allowed.set(held.identifier, upTo);
      }
      if (held.order > upTo) {
        foreign++;
        continue;
      }
      this.#release(held);
      acked.push(held.messageId);
    }
    if (foreign > 0) {
      this.stats.rejected += foreign;
      this.#reportPeerError(
        new ZmqProtocolError(`ack from ${clientId} ignored for messages it is not subscribed to; count:`, String(foreign)),
      );
    }
    if (acked.length === 0) return;
    this.stats.acked += acked.length;
    // An acknowledgement lost in a crash only means one more resend, which subscribers drop as a duplicate.
    this.#logReleased(acked);
  }

  // The last message (Held.order) under `identifier` that patterns `clientId` replaced since matched (-1: none):
  // it may have been sent such a message then, and its acknowledgement comes once its follower is done (a
  // follower that unsubscribes as it handles the message, a one-shot follower under importFilters
  // "followers"). Refused, that acknowledgement left a handled message held, resent to nobody, and expired
  // into a dead letter.
  #matchedUpTo(clientId: string, identifier: string): number {
    let upTo = -1;
    for (const d of this.#peers.get(clientId)?.dropped ?? []) {
      if (d.upTo > upTo && this.#clients.matches(clientId, identifier, d.patterns)) upTo = d.upTo;
    }
    return upTo;
  }

  #logReleased(messageIds: string[]): void {
    if (this.#log === undefined) return;
    try {
      this.#log.acked(messageIds);
      if (this.#log.wantsCompaction(this.#held.size)) this.#log.compact([...this.#held.values()]);
    } catch (error) {
      this.#report(error instanceof PersistError ? error : new PersistError(this.#log.file, error));
    }
  }

  // Held messages past their expiry become dead letters: file first (synced), then released from the log.
  #expireDue(clock: number): void {
    const due: Held[] = [];
    for (const held of this.#held.values()) if (held.deadline <= clock) due.push(held);
    if (due.length === 0) return;
    const now = Date.now();
    const letters: DeadLetter[] = due.map((held) => ({
      messageId: held.messageId,
      identifier: held.identifier,
      senderId: held.senderId,
      payload: held.payload,
      reason: "expired",
      heldAt: held.heldAt,
      deadAt: now,
    }));
    try {
      this.#deadLetters?.append(letters);
    } catch (error) {
      // Kept held (and retried at the next sweep) rather than lost without a record.
      this.#report(error instanceof PersistError ? error : new PersistError(this.#deadLetters?.file ?? "", error));
      return;
    }
    for (const held of due) this.#release(held);
    this.stats.expired += due.length;
    this.#logReleased(due.map((held) => held.messageId));
    this.#say(`${due.length} unacknowledged message(s) expired into dead letters`);
    for (const letter of letters) this.#emitEach("dead-letter", letter, `message ${JSON.stringify(letter.messageId)}`);
  }

  #resendDue(): void {
    if (this.#closed || this.#held.size === 0) return;
    const clock = performance.now();
    this.#expireDue(clock);
    this.#checkLog(clock);
    const due = clock - this.#options.resendInterval;
    const byTopic = new Map<string, { topic: string; senderId: string; parts: Held[] }>();
    for (const held of this.#held.values()) {
      if (held.lastSent > due) continue;
      let targets: readonly string[];
      try {
        targets = this.#clients.targets(held.identifier).filter((id) => id !== held.senderId);
      } catch {
        continue;
      }
      if (targets.length === 0) continue;
      held.lastSent = clock;
      for (const topic of targets) {
        const key = `${topic}\u0000${held.senderId}`;
        let resend = byTopic.get(key);
        if (resend === undefined) {
          resend = { topic, senderId: held.senderId, parts: [] };
          byTopic.set(key, resend);
        }
        resend.parts.push(held);
      }
    }
    // A message counts as resent once, however many subscribers it went to, and not when every delivery of
    // it was dropped past maxSubscriberQueueBytes (it was counted at every resendInterval all the same).
    const sent = new Set<Held>();
    for (const { topic, senderId, parts } of byTopic.values()) this.#sendHeld(this.#peer(topic), senderId, parts, sent);
    this.stats.resent += sent.size;
  }

  // A persist file deleted or replaced while nothing is sent (a /tmp cleaner) is written anew at the sweep:
  // left as it was, everything held was gone after a restart.
  #checkLog(clock: number): void {
    const log = this.#log;
    if (log === undefined || !log.replaced()) return;
    if (this.#rewriteFailure !== undefined && clock - this.#rewriteFailure.at < REWRITE_RETRY) return;
    try {
      this.#rewriteLog(log);
    } catch (error) {
      this.#report(error instanceof PersistError ? error : new PersistError(log.file, error));
    }
  }

  // Writes the persist file anew from what is held, after it was deleted or replaced (AckLog.replaced).
  // After a failure (a directory at its path) none is tried for REWRITE_RETRY ms: each one rewrites
  // everything held, and batches keep coming. @throws PersistError.
  #rewriteLog(log: AckLog): void {
    const clock = performance.now();
    const failure = this.#rewriteFailure;
    if (failure !== undefined && clock - failure.at < REWRITE_RETRY) throw failure.error;
    try {
      log.compact([...this.#held.values()]);
    } catch (error) {
      const failed = error instanceof PersistError ? error : new PersistError(log.file, error);
      this.#rewriteFailure = { at: clock, error: failed };
      throw failed;
    }
    this.#rewriteFailure = undefined;
    this.#say(`persist file ${log.file} was deleted, truncated or replaced: written anew with ${this.#held.size} held message(s)`);
  }

  #beat(): void {
    this.#sendPub([pubFrame(BROADCAST, Kind.beat, this.bootId)]);
    // A mark can be lost (a reconnection drops what libzmq queued): a subscriber waiting to be sent more
    // is marked again, else it waited for good. So is one with half the bound unread: what was sent to it
    // while its connection was down stayed unread until a later mark, sent only an eighth of the bound
    // later, and a subscriber that had read all it got was past the bound at its next delivery (dropped).
    for (const peer of this.#fullPeers) this.#mark(peer, true);
    const half = this.#options.maxSubscriberQueueBytes / 2;
    for (const peer of this.#peers.values()) {
      if (peer.takesMarks && !peer.full && this.#unread(peer) >= half) this.#mark(peer, true);
    }
    for (const gone of this.#clients.expire(performance.now() - this.#options.clientTimeout)) this.#gone(gone, "silent");
  }

  #gone(clientId: string, why: string): void {
    const peer = this.#peers.get(clientId);
    this.#takeOwed(peer);
    if (peer !== undefined) this.#fullPeers.delete(peer);
    this.#peers.delete(clientId);
    this.#say(`client ${clientId} ${why}`);
    this.#emitEach("client-gone", clientId, `client ${clientId}`);
  }

  #receipt(
    clientId: string,
    seq: string,
    error: { code: string; message: string; limit?: number; refused?: number } | undefined,
    noSubscriber?: string[][],
    invalid?: string[][],
  ): void {
    const frames = [clientId, Kind.receipt, seq, error === undefined ? "" : JSON.stringify(error)];
    // "[]" rather than "" before the invalid list: a client that reads only the noSubscriber frame reads it.
    if (noSubscriber !== undefined || invalid !== undefined) frames.push(JSON.stringify(noSubscriber ?? []));
    if (invalid !== undefined) frames.push(JSON.stringify(invalid));
    this.#routerQueue.send(frames).catch((failure: unknown) => {
      if (!this.#closed) this.#report(new ZmqProtocolError(`receipt to ${clientId} failed:`, errorText(failure)));
    });
  }

  #sendPub(frames: (string | Buffer)[]): void {
    this.#pubQueue.post(frames);
  }

  #say(line: string): void {
    this.#logLine?.(line);
  }

  // Errors clients cause are emitted (and logged) at most REPORTS_PER_SECOND times a second, the rest
  // counted in stats.unreported: a client sending junk as fast as it could made as many events, or, with
  // no listener, process warnings; the CLI wrote a line for each to stderr, a pipe whose slow reader
  // blocks the whole broker.
  #reportPeerError(error: BerryError): void {
    if (!this.#reportRate.allow()) {
      this.stats.unreported++;
      return;
    }
    this.#report(error);
  }

  // An `error` listener that throws becomes a process warning (as a bus's does): thrown into the frame
  // handler it ended the receive loop, the broker bound and beating but reading nothing more.
  #report(error: BerryError): void {
    this.#say(error.message);
    emitError(this, error, (unheard) => process.emitWarning(unheard));
  }

  // `event` like emit, each listener in its own try, a throw reported (BrokerListenerError): one that threw
  // ended the receive loop (a "client" or "client-gone" listener, from a frame) or was an uncaught exception
  // (from a timer: a dead letter, a client gone silent), and the listeners after it missed the event.
  #emitEach<E extends "client" | "client-gone" | "dead-letter">(event: E, value: BrokerEvents[E][0], about: string): void {
    emitEach(this, eventKey(event), event, value, about, this.#listenerThrew);
  }

  readonly #listenerThrew = (thrown: unknown, about: string, event: string): void => {
    this.#report(new BrokerListenerError(event, about, thrown));
  };
}

// Why a replayed held line would be refused now (as acknowledgedLineFault refuses a received one).
function heldLineFault(message: HeldMessage): string | undefined {
  let envelope: unknown;
  try {
    envelope = fromCompactEnvelope(JSON.parse(message.payload));
    fromEnvelope(envelope);
  } catch (error) {
    return `its held line is not a valid envelope: ${errorText(error)}`;
  }
  const { id, messageId } = envelope as { id: string; messageId: string };
  if (messageId !== message.messageId) return `its held line's messageId ${JSON.stringify(messageId)} is not its own`;
  if (id !== message.identifier) return `its held line's identifier ${JSON.stringify(id)} is not its own`;
  return undefined;
}

async function bindTo(socket: zmq.Socket, address: string, portNumber: number): Promise<number> {
  await socket.bind(`tcp://${address}:${portNumber === 0 ? "*" : portNumber}`);
  const endpoint = socket.lastEndpoint ?? "";
  return Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
}

// Whether every client but the sender matches, and there are at least two of them: then one broadcast
// serves them all. A broadcast reaches the sender too, so for a single other client it would send the
// sender its whole batch back for nothing but the receipt: a DELIVER to that client and a small receipt
// cost less (a ping-pong round trip: ~20 % less CPU, half the p99; see bench/results/zeromq.md).
function reachesAllOthers(targets: readonly string[], senderId: string, others: number): boolean {
  const matching = targets.includes(senderId) ? targets.length - 1 : targets.length;
  return others > 1 && matching === others;
}

// A client's patterns as a log line names them: at most 10, each cut to 80 characters. Listed whole, a
// client's 1,000 patterns of 30 KB made a 30 MB line on every change of its subscriptions (the CLI's
// --verbose writes each to stdout, which blocks the broker while its reader is slow).
function patternList(patterns: readonly string[]): string {
  const shown = patterns.slice(0, 10).map((pattern) => (pattern.length > 80 ? `${pattern.slice(0, 77)}...` : pattern));
  return patterns.length > 10 ? `${shown.join(", ")} and ${patterns.length - 10} more` : shown.join(", ");
}

// The version a HELLO gave, as the WELCOME echoes it (a field of a space-separated frame: digits only).
function welcomeVersion(version: Buffer | undefined): string {
  const text = version?.toString() ?? "0";
  return /^\d{1,15}$/.test(text) ? text : "0";
}
