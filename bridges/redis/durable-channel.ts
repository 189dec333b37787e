import { randomUUID } from "node:crypto";
import { EventEmitter } from "eventemitter3";
import { BerryError, describe, emitError, errorText, InvalidArgumentError } from "../../lib/errors.js";
import { checkDuration, type LongTimer, MAX_TIMER_DELAY, setLongTimeout } from "../../lib/long-timer.js";
import { checkJsonValue } from "../envelope.js";
import { BLOCK_SLICE, BlockingClient, connectionFor } from "./blocking-client.js";
import {
  clientName,
  closeClient,
  defineScripts,
  isCluster,
  onConnectionClose,
  openClient,
  type RedisClient,
  type RedisConnection,
  readyWithin,
  runScript,
  serversOf,
  whereTried,
  whyFailed,
} from "./connection.js";
import { type DurableMessage, parseDurableMessage } from "./durable-message.js";
import { DURABLE_SCRIPTS } from "./durable-scripts.js";
import {
  ChannelEndedError,
  DurableOverflowError,
  LateReplyError,
  NotHeldError,
  ReceiveTimeoutError,
  RedisCommandError,
  RedisConnectFailedError,
  RedisConnectionError,
  RedisDataLostError,
} from "./errors.js";
import { checkHashTagPrefix, hashSlot } from "./hash-slot.js";
import { reportOutages } from "./outage.js";
import { isRefusedDuringFailover, retryThroughFailover } from "./failover-retry.js";
import { checkDurability, type Durability, isFailoverError, pause, ReplicatedScripts } from "./replicated-script.js";
import { Batcher, MAX_BATCH } from "./script-batcher.js";
import { StallWatch } from "./stall-watch.js";

/** Options of a {@link DurableChannel}. */
export interface DurableChannelOptions {
  /** Where Redis is (default `redis://127.0.0.1:6379`). */
  connection?: RedisConnection;
  /**
   * Prefix of every key, with a non-empty `{hash tag}` so that a Cluster keeps them in one slot, hence on
   * one master (default `"berrymq:{durable}:"`). Prefixes with different tags spread channels over masters:
   * see `prefixInSlots()` and `DurableChannel.node()`.
   */
  prefix?: string;
  /**
   * How long a receiver may stay silent (dead) before what it holds goes to another one, in ms (default
   * 5,000). Time in which Redis itself was unreachable does not count against it.
   */
  lease?: number;
  /**
   * How often this channel times out due messages and requeues dead receivers' ones, in ms (default 100).
   * The heartbeat keeps its own pace (a third of the lease, at most 5 s), however long this is.
   */
  sweepInterval?: number;
  /**
   * How long a timed-out message is remembered, so a late reply is recognised as late, in ms (default 1
   * day); a finished one too (at least a minute), so that a reply, close or send resent later gets the
   * first call's answer, within {@link finishedRecords}.
   */
  retain?: number;
  /**
   * How many finished messages of the prefix are remembered beyond a minute after they finished, the
   * newest first (default 10,000, about 6 MB in Redis; 0: a minute only). A reply or close that ioredis
   * resends after a longer outage, or a `send()` retried with the id of a message finished longer ago, is
   * answered as the first call was while its record is kept; after that, it gets NotHeldError (a close or
   * reply) or records the message again (a send). The prefix keeps the largest value of its channels alive
   * now (`P keepby`, refreshed by each heartbeat), so a channel asking fewer does not drop another's
   * records, and one that asked more stops counting once it ended or died.
   */
  finishedRecords?: number;
  /**
   * How many `send()`s may wait for Redis at once (default 10,000): while Redis is away they are held in
   * memory. A send past it rejects at once with DurableOverflowError (`DURABLE_OVERFLOW`; its `messageId`
   * and `dropped` name the message; nothing recorded).
   */
  maxPending?: number;
  /**
   * How many messages given out by this receiver (to `receive()`, or taken ahead for it) and not finished
   * yet it keeps a record of (default 10,000, about 1 MB; see `unfinished`): the record keeps a take from
   * giving one of them twice (after a failover, a scan of the held list can claim again a message whose
   * first take the replica missed). Past it, the oldest record is dropped: its message stays held by this
   * receiver in Redis as before (lease, deadline, `end()` giving it back), and can still be replied to or
   * closed; only after such a failover may it be given out twice (at least once, as after a lease ran
   * out). Before r28 a message never finished kept its record for ever.
   */
  givenOutRecords?: number;
  /**
   * Wait until `replicas` replicas have each write of this channel (Redis WAIT, for at most `timeout` ms)
   * before answering it: sends, replies, closes and takes. With `replicas >= 1` confirmed, a failover
   * takes back nothing this channel was told had happened (see the README). Default `{ replicas: 0 }`:
   * the master's acknowledgement only. `send()` may override it per message. With `replicas >= 1` the
   * channel opens a third connection for these writes (a WAIT holds its connection): the heartbeat and
   * the sweep never wait behind a WAIT, and `end()` cuts the WAITs on their way short (those calls answer
   * with the replicas that confirmed so far).
   */
  durability?: Durability;
  /**
   * How long `DurableChannel.open()` waits for Redis to register the channel, in ms (default 10,000:
   * ioredis's `connectTimeout`, which bounds `RedisLink.connect` against a Redis that does not answer;
   * Infinity: wait through the outage). Past it, open() closes what it opened and rejects with
   * ConnectTimeoutError (`CONNECT_TIMEOUT`, naming the Redis it tried and the last connection error).
   * Not used by `new DurableChannel()`, whose calls wait through an outage.
   */
  connectTimeout?: number;
  /** Aborting it ends a `DurableChannel.open()` still waiting: it closes what it opened and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of `send()` and `reply()`. */
export interface DurableSendOptions {
  /** Channel to send to (`send` only). */
  to?: string;
  /** Ms (of Redis's clock) within which the message must be replied to or closed; 0, Infinity or none: no timeout. */
  timeout?: number;
  /**
   * The message's id (`send` only; default a new UUID). Sending again with the same id after a failed or
   * timed-out `send()` is safe: Redis records the message once, and the second call gets the first's result.
   * A send of another message under it (from or to another channel) is refused (InvalidArgumentError), as
   * is an id ending in "/timeout" (timeout notices' ids).
   */
  id?: string;
  /**
   * Wait until `replicas` replicas have the message (Redis WAIT), for at most `timeout` ms, before
   * resolving; `SentMessage.replicas` says how many confirmed. Default: the channel's `durability`, else
   * `{ replicas: 0 }` (the master's acknowledgement only: replication is asynchronous, so a failover can
   * lose the last messages). Its WAIT goes out on a connection of its own (opened at the first such send
   * on a channel without channel-wide durability): the heartbeat never waits behind it.
   */
  durability?: Durability;
}

/** What `send()` and `reply()` resolve to once Redis has recorded the message. */
export interface SentMessage {
  readonly id: string;
  readonly sentAt: number;
  /** `undefined` when it has no timeout. */
  readonly deadline: number | undefined;
  /** With `durability`: how many replicas confirmed having it (fewer than asked when the wait timed out; a reply's count covers the batch of replies and closes it went out with). */
  readonly replicas?: number;
}

/** Events of a durable channel. */
export interface DurableChannelEvents {
  /**
   * The connection to Redis was lost (RedisConnectionError, once per outage: calls wait for the
   * reconnection, they do not fail), or a background step (sweep, heartbeat) failed (RedisCommandError,
   * retried on the next tick). With no listener, a process warning is emitted instead.
   */
  error: [error: BerryError];
}

const DEFAULTS = {
  lease: 5_000,
  sweepInterval: 100,
  retain: 86_400_000,
  finishedRecords: 10_000,
  maxPending: 10_000,
  givenOutRecords: 10_000,
  connectTimeout: 10_000,
};
/** The longest time between two heartbeats, in ms, whatever the lease (each checks for lost data). */
const MAX_BEAT = 5_000;
/** How long `end()` waits for Redis to answer its last steps before it cuts the connections, in ms. */
const END_GRACE = 5_000;
// Reports held while open() waits (see #report): an outage is one report, so a few cover what can come.
const HELD_REPORTS = 16;
// How long after a connection closed the promoted master is watched for WAITs it cannot answer, in ms.
const PROMOTION_WATCH = 60_000;

/**
 * A named queue of messages in Redis that loses none (muppet's DurableChannel): several receivers of one
 * channel each get a different message; every message sent with a timeout is either replied to (or
 * closed) within it, or its sender is sent a `timeout` notice, exactly once, even if receivers are killed
 * or the sender restarts. Timeouts and leases run on Redis's clock, in Lua scripts.
 * @example
 * const dispatcher = await DurableChannel.open("dispatcher.1", { connection: url });
 * const worker = await DurableChannel.open("worker", { connection: url });
 * await dispatcher.send({ task: 1 }, { to: "worker", timeout: 5_000 });
 * const task = await worker.receive();
 * await worker.reply(task, { done: true });
 * const reply = await dispatcher.receive(); // reply.kind === "reply", reply.content = { done: true }
 * await dispatcher.close(reply);
 * await Promise.all([dispatcher.end(), worker.end()]);
 */
export class DurableChannel extends EventEmitter<DurableChannelEvents> {
  /** Name of the channel this instance receives from (and sends from). */
  readonly name: string;
  /** Unique id of this receiver among the channel's receivers. */
  readonly consumer: string;
  readonly prefix: string;
  readonly #client: RedisClient;
  readonly #blocking: BlockingClient;
  readonly #lease: number;
  readonly #retain: number;
  /** FINISH's retain argument: `<retain>:<finishedRecords>`. */
  readonly #keepFinished: string;
  /** Finished records kept beyond a minute (the sweep trims those past it). */
  readonly #finishedRecords: number;
  readonly #maxPending: number;
  readonly #keys: { deadlines: string; inbox: string; held: string };
  readonly #outageGap: number;
  /** How often the sweep runs, and the heartbeat (at a third of the lease, at most MAX_BEAT), in ms. */
  readonly #sweepInterval: number;
  readonly #beatEvery: number;
  /** How often #tick runs: the shorter of the two, so that a long sweepInterval does not space the beats out. */
  readonly #tickEvery: number;
  #lastSweep = Number.NEGATIVE_INFINITY;
  /** How long this channel's sweep keeps the prefix's other channels from sweeping, in ms (half its interval, at most 50). */
  readonly #sweepHold: number;
  /** Replicas every write waits for (none: undefined). */
  readonly #durability: Durability | undefined;
  /** Closes of the connections scripts with durability go out on (on a Cluster, of each node's) so far. */
  #closes = 0;
  /** Where this channel's connections go. */
  readonly #connection: RedisConnection;
  /**
   * The connection scripts with durability go out on, of their own (opened with the channel when it has
   * channel-wide durability, else at the first send with durability of its own): a WAIT holds its
   * connection until the replicas confirm (or its timeout), and the heartbeat and the sweep must not wait
   * behind it (a slow replica would let this receiver's lease run out).
   */
  #writer: RedisClient | undefined;
  /** The connection name of {@link #writer} (CLIENT UNBLOCK finds its WAITs by it). */
  readonly #writerName: string;
  /** Runs the scripts with durability (WAIT behind each), on {@link #writer}. */
  #replicated: ReplicatedScripts | undefined;
  /** Adds a connection to the ones whose outages this channel reports. */
  readonly #watchOutages: (client: RedisClient) => void;
  readonly #ready: Promise<void>;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  /**
   * Reports a tick (heartbeat, sweep) unanswered for STALL ms on live connections, once. Before r27, a slot
   * stuck half-migrated held every call of the channel for ever, unreported.
   */
  readonly #stall: StallWatch;
  #lastBeat = 0;
  /** The prefix's mark (`P instance`) the last heartbeat saw: it changes when Redis lost the prefix's keys. */
  #instance: string | undefined;
  #ended = false;
  /** What end() resolves with, once called. */
  #ending: Promise<void> | undefined;
  // While open() waits for the channel (nobody can listen to it yet): what it would report, held (see #report).
  #heldReports: BerryError[] | undefined;
  /** Whether {@link #watchPromotedMaster} runs. */
  #watchingPromotion = false;
  /** Whether the inbox had more queued at the last take (else the pump blocks at once). */
  #more = true;
  /** Whether the held list may have ids no take claimed: the blocking connection was re-established, or a take after a BLMOVE failed. */
  #lostMoves = false;
  /** Messages taken for this receiver (held by it in Redis) that no `receive()` has asked for yet. */
  readonly #prefetched: DurableMessage[] = [];
  /**
   * Ids given out (to receive() or prefetched) and not finished yet: a take never gives one twice (a scan
   * of the held list after a failover can claim again a message whose first take the replica missed).
   * At most #givenOutRecords, oldest first (a Set iterates in insertion order).
   */
  readonly #givenOut = new Set<string>();
  readonly #givenOutRecords: number;
  /** `receive()`s waiting for a message, oldest first. */
  readonly #waiters: Waiter[] = [];
  /** Messages asked for by takes on their way (so that a finish does not take for the same waiters). */
  #taking = 0;
  /** The loop that takes or blocks for waiting `receive()`s (one at a time: one BLMOVE on the connection). */
  #pump: Promise<void> = Promise.resolve();
  #pumping = false;
  readonly #sends: Batcher<SendItem, SendResult>;
  readonly #finishes: Batcher<FinishItem, FinishResult>;

  /**
   * How many messages this receiver gave out and not finished yet it keeps a record of: at most
   * `givenOutRecords` (the oldest record is dropped past it; its message stays held in Redis).
   */
  get unfinished(): number {
    return this.#givenOut.size;
  }

  /** The Cluster hash slot every key of this channel is in (its prefix's hash tag). */
  get slot(): number {
    return hashSlot(this.prefix);
  }

  /** `host:port` of the Redis (on a Cluster: the master serving {@link slot} now) this channel's keys are on. */
  async node(): Promise<string> {
    await this.#ready;
    const client = this.#client;
    if (isCluster(client)) return client.slots[this.slot]?.[0] ?? "unknown";
    // The address actually connected to (through Sentinel: the master it named), not the configured one.
    const { remoteAddress, remotePort } = client.stream as { remoteAddress?: string; remotePort?: number };
    return remoteAddress === undefined ? "unknown" : `${remoteAddress}:${remotePort}`;
  }

  /**
   * Opens a channel and waits until Redis has registered it as a live receiver: at most `connectTimeout`
   * ms (then ConnectTimeoutError), or until `signal` aborts; either way what it opened is closed again.
   * A login Redis refuses (a wrong password) rejects at once with RedisConnectFailedError.
   */
  static async open(name: string, options: DurableChannelOptions = {}): Promise<DurableChannel> {
    const timeout = duration("connectTimeout", options.connectTimeout ?? DEFAULTS.connectTimeout);
    const { signal } = options;
    signal?.throwIfAborted();
    const channel = new DurableChannel(name, options);
    channel.#heldReports = [];
    try {
      // The channel registered (`#ready`), within `timeout` ms and before `signal` aborts.
      const bound = timeout === NEVER ? Number.POSITIVE_INFINITY : timeout;
      await readyWithin(channel.#client, channel.#ready, `durable channel "${name}"`, bound, signal);
    } catch (error) {
      // The rejection says what failed: what was held goes no further.
      await channel.end();
      // A login Redis refused (a wrong password) was ioredis's bare WRONGPASS before r30, naming neither the
      // channel nor the server, its command carrying the password (redacted now, see redactCredentials).
      const command = (error as { command?: { name?: unknown } } | undefined)?.command;
      if (!/^(auth|hello)$/i.test(String(command?.name))) throw error;
      throw new RedisConnectFailedError(
        `durable channel "${name}"`,
        await whereTried(channel.#client),
        serversOf(channel.#client),
        error,
        whyFailed(channel.#client, error),
      );
    }
    const held = channel.#heldReports;
    channel.#heldReports = undefined;
    // Once the caller has the channel and could listen (after its await). An outage while it connected is
    // over: not reported, a report would say "reconnecting" of a channel that is open.
    const rest = held.filter((error) => !(error instanceof RedisConnectionError));
    if (rest.length > 0)
      setImmediate(() => {
        for (const error of rest) channel.#report(error);
      });
    return channel;
  }

  constructor(name: string, options: DurableChannelOptions = {}) {
    super();
    checkName("name", name);
    this.name = name;
    this.consumer = `${name}/${randomUUID()}`;
    // The scripts reach keys they only learn inside Redis (ids popped from lists): on a Cluster, only a
    // non-empty hash tag in the prefix keeps those in the slot the script runs on. Required everywhere, so
    // that moving to a Cluster never breaks a deployment.
    this.prefix = checkHashTagPrefix("prefix", options.prefix ?? "berrymq:{durable}:");
    this.#lease = duration("lease", options.lease ?? DEFAULTS.lease);
    this.#retain = duration("retain", options.retain ?? DEFAULTS.retain);
    const finishedRecords = options.finishedRecords ?? DEFAULTS.finishedRecords;
    if (!Number.isSafeInteger(finishedRecords) || finishedRecords < 0)
      throw new InvalidArgumentError("finishedRecords", finishedRecords, "an integer >= 0");
    this.#keepFinished = `${this.#retain}:${finishedRecords}`;
    this.#finishedRecords = finishedRecords;
    this.#maxPending = options.maxPending ?? DEFAULTS.maxPending;
    if (!Number.isSafeInteger(this.#maxPending) || this.#maxPending < 1)
      throw new InvalidArgumentError("maxPending", this.#maxPending, "an integer >= 1");
    this.#givenOutRecords = options.givenOutRecords ?? DEFAULTS.givenOutRecords;
    if (!Number.isSafeInteger(this.#givenOutRecords) || this.#givenOutRecords < 1)
      throw new InvalidArgumentError("givenOutRecords", this.#givenOutRecords, "an integer >= 1");
    const sweepInterval = duration("sweepInterval", options.sweepInterval ?? DEFAULTS.sweepInterval);
    const durability = checkDurability("durability", options.durability);
    this.#durability = durability === undefined || durability.replicas === 0 ? undefined : durability;
    if (sweepInterval > MAX_TIMER_DELAY)
      throw new InvalidArgumentError("sweepInterval", sweepInterval, `an interval of at most ${MAX_TIMER_DELAY} ms`);
    // No sweep for this long means nobody could reach Redis: leases are extended by that time.
    this.#outageGap = Math.max(1_000, 3 * sweepInterval);
    // At most 50 ms: a channel with a long interval must not hold off the others' sweeps (their timeouts
    // would wait, and a gap longer than their outage gap would extend every lease).
    this.#sweepHold = Math.max(1, Math.min(50, Math.floor(sweepInterval / 2)));
    const p = this.prefix;
    this.#keys = { deadlines: `${p}deadlines`, inbox: `${p}in:${name}`, held: `${p}held:${this.consumer}` };
    const connection = options.connection ?? "redis://127.0.0.1:6379";
    // Commands wait through a Redis restart instead of failing: nothing acknowledged is given up.
    this.#client = openClient(connection, { maxRetriesPerRequest: null, connectionName: `berrymq-durable:${this.consumer}` });
    defineScripts(this.#client, DURABLE_SCRIPTS);
    this.#connection = connection;
    this.#writerName = clientName(`berrymq-durable-wait:${this.consumer}`);
    this.#sends = new Batcher(
      (items, first) => this.#sendMany(items, first),
      (item) => Buffer.byteLength(String(item[4])),
      // Late: a request loop's send (made when the last one was answered) can then go with the close
      // of the reply that came in the same read, made a few awaits later (SEND_FINISH).
      true,
    );
    this.#finishes = new Batcher(
      (items, first) => this.#finishMany(items, first),
      (item) => Buffer.byteLength(item[3]),
    );
    const blocking = openClient(connection, {
      maxRetriesPerRequest: null,
      connectionName: `berrymq-durable-block:${this.consumer}`,
    });
    this.#blocking = new BlockingClient(blocking, this.#client);
    // A BLMOVE answer lost with its connection left the message in the held list: the next take looks there.
    onConnectionClose(blocking, () => {
      this.#lostMoves = true;
    });
    this.#stall = new StallWatch(this.#client, `durable channel "${name}" heartbeat`, `prefix ${this.prefix}`, "calls", (error) =>
      this.#report(error),
    );
    // Commands wait out an outage (they are not failed), so losing the connection is reported here.
    this.#watchOutages = reportOutages(`durable channel "${name}"`, [this.#client, blocking], (error) => this.#report(error));
    if (this.#durability !== undefined) this.#replicatedScripts();
    this.#ready = this.#heartbeat();
    this.#ready.catch(() => {});
    // Before r27 the heartbeat went with the sweep only: with a sweepInterval longer than the lease, the
    // lease ran out between beats, under a live receiver (its messages went to others).
    this.#sweepInterval = sweepInterval;
    this.#beatEvery = Math.min(this.#lease / 3, MAX_BEAT);
    this.#tickEvery = Math.max(1, Math.floor(Math.min(sweepInterval, this.#beatEvery)));
    this.#timer = setInterval(() => void this.#tick(), this.#tickEvery);
  }

  /**
   * Sends `content` (any JSON value) to the channel `to`; resolves once Redis has recorded it.
   * @throws InvalidArgumentError for a missing `to`, a bad timeout or content that is not JSON.
   */
  async send(content: unknown, options: DurableSendOptions & { to: string }): Promise<SentMessage> {
    this.#checkOpen();
    checkName("to", options.to);
    const timeout = checkTimeout(options.timeout);
    const id = options.id ?? randomUUID();
    checkName("id", id);
    // A message's timeout notice is recorded under its id and this suffix: a message of that id would be overwritten.
    if (id.endsWith(NOTICE_SUFFIX))
      throw new InvalidArgumentError("id", id, `an id that does not end in "${NOTICE_SUFFIX}" (timeout notices' ids do)`);
    const item = [id, this.name, options.to, "message", encode(content), "", timeout];
    const wanted = checkDurability("durability", options.durability);
    const durability = wanted === undefined ? this.#durability : wanted.replicas === 0 ? undefined : wanted;
    // While Redis is away sends wait in memory: past the bound, refused (nothing recorded) rather than held.
    if (this.#sends.pending + (this.#replicated?.pending ?? 0) >= this.#maxPending)
      throw new DurableOverflowError(this.name, this.#maxPending, { to: options.to, messageId: id });
    try {
      // The channel's durability goes with the batch; another one for this message alone, in a call of its own.
      const inbox = `${this.prefix}in:${options.to}`;
      if (durability === this.#durability) return sentMessage(id, inbox, await this.#sends.add(item));
      const { result, replicas } = await this.#write(
        "berrymqDurableSend",
        [this.#keys.deadlines, this.prefix, ...item],
        durability,
      );
      return sentMessage(id, inbox, sendResultAt(result, 0, replicas));
    } catch (error) {
      // Ended on its way (Redis away): the caller learns the id to resend it with safely.
      if (error instanceof ChannelEndedError && error.messageId === undefined)
        throw new ChannelEndedError(this.name, id, "it may or may not have been recorded; send it again with this id to be sure");
      throw typed(`sending to durable channel "${options.to}"`, error);
    }
  }

  /**
   * The next message for this channel (a request, a reply, or a timeout notice); waits for one. The
   * message stays held by this receiver until `reply()` or `close()`; if this process dies first, it
   * goes to another receiver once the lease runs out.
   * @throws ReceiveTimeoutError after `timeout` ms; ChannelEndedError when the channel ends meanwhile.
   */
  async receive(options: { timeout?: number } = {}): Promise<DurableMessage> {
    this.#checkOpen();
    const { timeout } = options;
    if (timeout !== undefined) checkDuration("timeout", timeout);
    // Monotonic (performance.now), as every local span here: a wall clock set back would stretch it.
    const until = timeout === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeout;
    await this.#ready;
    if (this.#ended) throw new ChannelEndedError(this.name);
    const prefetched = this.#prefetched.shift();
    if (prefetched !== undefined) return prefetched;
    return new Promise<DurableMessage>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, until, timer: undefined };
      // A timer only for a receive() with a timeout; what comes after it is kept for the next receive().
      if (timeout !== undefined) {
        waiter.timer = setLongTimeout(() => {
          const at = this.#waiters.indexOf(waiter);
          if (at >= 0) this.#waiters.splice(at, 1);
          reject(new ReceiveTimeoutError(this.name, timeout));
        }, timeout);
      }
      this.#waiters.push(waiter);
      this.#wake();
    });
  }

  /**
   * Answers a message received here: the reply goes to its sender's channel, and, with `timeout`, must
   * itself be closed by the sender within it (else this channel gets a timeout notice).
   * @throws LateReplyError when the message had timed out (its sender got a timeout notice instead);
   * NotHeldError when this receiver does not hold it (finished already, or given to another receiver).
   */
  async reply(message: DurableMessage, response: unknown, options: DurableSendOptions = {}): Promise<SentMessage> {
    this.#checkOpen();
    const timeout = checkTimeout(options.timeout);
    const id = randomUUID();
    const [, sentAt, deadline, replicas] = await this.#finish(message, "reply", id, encode(response), timeout);
    const sent = { id, sentAt, deadline: deadline > 0 ? deadline : undefined };
    return replicas === undefined ? sent : { ...sent, replicas };
  }

  /**
   * Finishes a message received here without replying (e.g. a reply once read, or a timeout notice).
   * @throws LateReplyError or NotHeldError, as `reply()`.
   */
  async close(message: DurableMessage): Promise<void> {
    this.#checkOpen();
    await this.#finish(message, "close", randomUUID(), "", 0);
  }

  /**
   * Stops this receiver: pending `receive()`s reject with ChannelEndedError, messages it holds go back to
   * the front of their channel for another receiver, and its connections close. When Redis does not
   * answer within 5 s (hung, or unreachable while the client still counts it connected), the connections
   * are cut instead, the calls still waiting fail with ChannelEndedError, an `error` says so, and what this
   * receiver held goes back once its lease runs out.
   */
  end(): Promise<void> {
    // A second call gets the first one's promise: before r30 it resolved at once, while what this receiver
    // held was still on its way back (a caller that then stopped Redis left it held until the lease ran out).
    this.#ending ??= this.#end();
    return this.#ending;
  }

  async #end(): Promise<void> {
    this.#ended = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#stall.stop();
    this.#timer = undefined;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.timer?.clear();
      waiter.reject(new ChannelEndedError(this.name));
    }
    // Prefetched messages are in this receiver's held list: the release below gives them back, once the
    // calls on their way (which may take more) are answered.
    this.#prefetched.length = 0;
    this.#givenOut.clear();
    // A Redis that is hung (connected, answering nothing) would hold every step below for ever.
    const steps = this.#endSteps();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), END_GRACE);
    });
    let gaveUp: boolean;
    try {
      gaveUp = await Promise.race([steps.then(() => false), late]);
    } finally {
      clearTimeout(timer);
    }
    if (!gaveUp) return;
    steps.catch(() => {});
    this.#report(
      new RedisCommandError(
        "ending the channel",
        new Error(
          `Redis did not answer within ${END_GRACE} ms: connections cut; what this receiver held goes back to its channel once its lease runs out`,
        ),
      ),
    );
    const error = new ChannelEndedError(this.name);
    this.#sends.fail(error);
    this.#finishes.fail(error);
    this.#replicated?.end(error);
    this.#blocking.disconnect();
    this.#writer?.disconnect();
    this.#client.disconnect();
  }

  // What end() waits for: the calls on their way, the release of what this receiver holds, the closes.
  async #endSteps(): Promise<void> {
    // With Redis away no CLIENT UNBLOCK can reach it, and ioredis keeps a blocked command for the
    // reconnection (closing the connection does not fail it): the pump is left behind then. What its
    // BLMOVE moves stays in the held list, which the sweep gives back once this receiver's lease ran out.
    // A take of the pump may wait for replicas too (below).
    while (this.#pumping && this.#client.status === "ready") {
      await this.#blocking.unblock();
      await this.#unblockWaits();
      await Promise.race([this.#pump, new Promise((resolve) => setTimeout(resolve, 5))]);
    }
    // Sends and finishes called before end() still go out (behind the one on its way) and are answered,
    // unless Redis is away: then they fail now (ioredis would keep them for a reconnection that never comes).
    // A WAIT for replicas is cut short (with timeout Infinity and no replica it would never answer): the
    // call answers with the replicas that confirmed so far.
    const writerReady = (): boolean => this.#writer === undefined || this.#writer.status === "ready";
    if (this.#client.status === "ready" && writerReady()) {
      let idle = false;
      const settled = Promise.all([this.#sends.idle(), this.#finishes.idle()]).finally(() => {
        idle = true;
      });
      // Sends with durability of their own are not batched: their WAITs are cut short too.
      while ((!idle || this.#replicated?.busy === true) && writerReady()) {
        await this.#unblockWaits();
        const pause = new Promise((resolve) => setTimeout(resolve, 5));
        await (idle ? pause : Promise.race([settled, pause]));
      }
      await settled;
    } else {
      const error = new ChannelEndedError(this.name);
      this.#sends.fail(error);
      this.#finishes.fail(error);
    }
    try {
      if (this.#client.status === "ready")
        await runScript(this.#client, "berrymqDurableRelease", [this.#keys.deadlines, this.prefix, this.consumer]);
    } catch (error) {
      this.#report(new RedisCommandError("releasing held messages at end", error));
    }
    await this.#blocking.close();
    if (this.#writer !== undefined) await closeClient(this.#writer);
    await closeClient(this.#client);
    // A call with durability of its own whose connection was not ready (Redis away, or reconnecting) is
    // not in the batches failed above, and its command would wait for ever.
    this.#replicated?.end(new ChannelEndedError(this.name));
  }

  // The scripts with durability and their connection, opened at the first use.
  #replicatedScripts(): ReplicatedScripts {
    if (this.#replicated !== undefined) return this.#replicated;
    const writer = openClient(this.#connection, { maxRetriesPerRequest: null, connectionName: this.#writerName });
    defineScripts(writer, DURABLE_SCRIPTS);
    // A write answered on a connection that then closed may have been lost with its master:
    // ReplicatedScripts makes it again when a close came while it was on its way.
    onConnectionClose(writer, () => {
      this.#closes++;
      this.#watchPromotedMaster();
    });
    this.#watchOutages(writer);
    this.#writer = writer;
    this.#replicated = new ReplicatedScripts(writer, {
      epoch: () => this.#closes,
      checkStillWanted: () => this.#checkOpen(),
    });
    return this.#replicated;
  }

  // ioredis sends a call on its way when its master died again to the promoted master, WAIT included:
  // with no replica there yet, that WAIT runs out its whole timeout, then each one queued behind it on
  // the writer connection its own (measured: promotion + 2 s of stall at a 1 s timeout). So while calls
  // are on their way after a close, the master serving the keys is asked ROLE every pause; while it lists
  // no replica, the channel's WAITs are cut short (ReplicatedScripts then asks ROLE and answers at once
  // with `replicas: 0`). It stops once the master lists a replica, nothing is on its way, or after a minute.
  #watchPromotedMaster(): void {
    if (this.#watchingPromotion) return;
    this.#watchingPromotion = true;
    const until = performance.now() + PROMOTION_WATCH;
    void (async () => {
      while (!this.#ended && this.#replicated?.busy === true && performance.now() < until) {
        await pause();
        const listed = await this.#replicasListed();
        // A WAIT with timeout Infinity waits for a replica as asked: the watch leaves the connection to it.
        if (listed === 0 && this.#replicated?.patient !== true) await this.#unblockWaits();
        else if (listed !== undefined) break;
      }
    })().finally(() => {
      this.#watchingPromotion = false;
    });
  }

  // How many replicas the master serving this channel's keys lists (undefined: not reachable or not a master now).
  async #replicasListed(): Promise<number | undefined> {
    const control = connectionFor(this.#client, this.#keys.deadlines);
    if (control === undefined || control.status !== "ready") return undefined;
    try {
      const role: unknown = await control.role();
      return Array.isArray(role) && role[0] === "master" && Array.isArray(role[2]) ? role[2].length : undefined;
    } catch {
      return undefined;
    }
  }

  // Makes the WAITs of this channel's calls answer now (CLIENT UNBLOCK: a WAIT returns the replicas that
  // confirmed so far), on the node serving this channel's keys; their connections are found by name.
  async #unblockWaits(): Promise<void> {
    if (this.#replicated?.busy !== true) return;
    const control = connectionFor(this.#client, this.#keys.deadlines);
    if (control === undefined || control.status !== "ready") return;
    try {
      const list = String(await control.client("LIST"));
      for (const line of list.split("\n")) {
        const fields = new Map(line.split(" ").map((field) => field.split("=", 2) as [string, string]));
        const id = fields.get("id");
        if (fields.get("name") === this.#writerName && id !== undefined && fields.get("cmd") === "wait")
          await control.client("UNBLOCK", id);
      }
    } catch {
      // Redis went away: the calls wait for it, or fail when the connections close below.
    }
  }

  // Serves waiting receive()s, one call at a time: as many as wait in one take while the inbox has more,
  // else one BLMOVE (a single blocked command, not one per receive()) and a take of what it moved plus
  // what else is queued.
  async #pumpLoop(): Promise<void> {
    try {
      while (!this.#ended && this.#waiters.length > this.#taking) {
        try {
          if (await this.#pumpStep()) return;
        } catch (error) {
          // A failover refused the step (READONLY, MOVED...) or ended its BLMOVE (UNBLOCKED: a planned
          // failover made the master a replica): the receive()s wait for the promoted master, and the
          // next take looks in the held list, where a lost answer would have left a message.
          if (this.#ended || !isFailoverError(error)) throw error;
          this.#lostMoves = true;
          await pause();
        }
      }
    } catch (error) {
      const failure = typed(`receiving from durable channel "${this.name}"`, error);
      for (const waiter of this.#waiters.splice(0)) {
        waiter.timer?.clear();
        waiter.reject(failure);
      }
    } finally {
      // In the same step as the last check of the loop: a take answered later starts a new pump.
      this.#pumping = false;
    }
  }

  // One take, or one BLMOVE and a take of what it moved; true when the channel ended meanwhile.
  async #pumpStep(): Promise<boolean> {
    const want = Math.min(this.#waiters.length - this.#taking, MAX_BATCH);
    if (this.#more || this.#lostMoves) {
      // After a reconnection, a BLMOVE answer it lost is in the held list: the take looks there too.
      const scan = this.#lostMoves;
      this.#lostMoves = false;
      await this.#take("", want, scan);
      return false;
    }
    const moved = await this.#blocking.run(this.#keys.inbox, (client) =>
      client.blmove(this.#keys.inbox, this.#keys.held, "LEFT", "RIGHT", this.#blockFor() / 1000),
    );
    // Ended while blocked: whatever was moved meanwhile sits in the held list, which end() gives back.
    if (this.#ended) return true;
    // Claimed even if every receive() was served meanwhile: it is kept for the next one.
    if (moved !== null)
      await this.#take(String(moved), Math.max(1, Math.min(this.#waiters.length - this.#taking, MAX_BATCH)), false);
    return false;
  }

  // How long one BLMOVE may block, in ms: a slice, or less when every waiting receive() has a timeout sooner.
  #blockFor(): number {
    let latest = 0;
    for (const waiter of this.#waiters) latest = Math.max(latest, waiter.until);
    return Math.max(10, Math.min(latest - performance.now(), BLOCK_SLICE));
  }

  async #take(given: string, want: number, scan: boolean): Promise<void> {
    this.#taking += want;
    let result: unknown;
    try {
      result = await this.#run("berrymqDurableTake", [
        this.#keys.deadlines,
        this.prefix,
        this.name,
        this.consumer,
        given,
        this.#retain,
        randomUUID(),
        want,
        scan ? "1" : "",
      ]);
    } catch (error) {
      // Refused (e.g. Redis out of memory): what the BLMOVE moved, or the scan was to find, waits in the
      // held list for the next take to look there.
      if (given !== "" || scan) this.#lostMoves = true;
      throw error;
    } finally {
      this.#taking -= want;
    }
    const [taken, more] = result as [unknown[], number];
    this.#took(taken, more);
  }

  #finish(
    message: DurableMessage,
    mode: "reply" | "close",
    replyId: string,
    response: string,
    timeout: number,
  ): Promise<[string, number, number, number | undefined]> {
    if (typeof message?.id !== "string") throw new InvalidArgumentError("message", message, "a message returned by receive()");
    return this.#finishes.add([message.id, mode, replyId, response, timeout]).then(
      ({ outcome: result, replicas }) => {
        const outcome = String(result[0]);
        // Nothing written: this receiver still holds it (another client wrote another type under the inbox),
        // so it stays given out.
        if (outcome !== "refused") this.#givenOut.delete(message.id);
        if (outcome === "late") throw new LateReplyError(message.id);
        if (outcome === "notheld") throw new NotHeldError(message.id, String(result[1]));
        if (outcome === "refused")
          throw new RedisCommandError(
            `${mode === "reply" ? "replying to" : "closing"} durable message ${message.id}`,
            new Error(String(result[1])),
          );
        return [outcome, Number(result[1]), Number(result[2]), replicas];
      },
      (error: unknown) => {
        if (error instanceof ChannelEndedError && error.messageId === undefined)
          throw new ChannelEndedError(this.name, message.id, `its ${mode} may or may not have been recorded`);
        throw typed(`${mode === "reply" ? "replying to" : "closing"} durable message ${message.id}`, error);
      },
    );
  }

  // Finishes a batch of messages in one call, which also carries the sends queued meanwhile.
  #finishMany(items: readonly FinishItem[], first: number): Promise<FinishResult[]> {
    // The sends made before the first finish go first (the later ones follow in a call of their own);
    // only if none was, the sends go after the finishes (one made between two finishes of the batch goes
    // after both, as it did when each kind had calls of its own).
    const used = (): number => this.#finishes.bytes(items);
    const earlier = this.#sends.claim(used, first);
    const sends = earlier ?? this.#sends.claim(used);
    const call = this.#finishCall(items, sends?.items ?? [], earlier === undefined && sends !== undefined);
    sends?.settle(call.then(({ sent, replicas }) => sends.items.map((_, i) => sendResultAt(sent, i, replicas))));
    return call.then(({ outcomes, replicas }) => outcomes.map((outcome) => ({ outcome, replicas })));
  }

  // Finishes a batch of messages in one call; when more is queued, the same call takes this receiver's
  // next messages: one for each receive() that will follow a finish, plus those waiting, less those held
  // or being taken for them already. With `sends`, the call records them too (SEND_FINISH): the sender
  // of a request loop typically closes a reply and sends the next request in the same tick. The kind
  // whose first call was made first runs first (`finishesFirst`), as in calls of their own: a reply and
  // then a send to the same channel arrive in that order.
  async #finishCall(
    items: readonly FinishItem[],
    sends: readonly SendItem[],
    finishesFirst: boolean,
  ): Promise<{ outcomes: unknown[][]; sent: unknown; replicas: number | undefined }> {
    const want =
      this.#more || this.#lostMoves
        ? Math.max(0, Math.min(items.length + this.#waiters.length - this.#prefetched.length - this.#taking, MAX_BATCH))
        : 0;
    const token = want > 0 ? randomUUID() : "";
    // After the blocking connection came back, the first take looks for a BLMOVE answer it lost.
    const scan = want > 0 && this.#lostMoves;
    if (scan) this.#lostMoves = false;
    this.#taking += want;
    const args = [this.#keys.deadlines, this.prefix, this.consumer, this.#keepFinished, this.name, token, want, scan ? "1" : ""];
    let result: unknown;
    let replicas: number | undefined;
    try {
      ({ result, replicas } =
        sends.length === 0
          ? await this.#write("berrymqDurableFinish", [...args, ...items.flat()], this.#durability)
          : await this.#write(
              "berrymqDurableSendFinish",
              [...args, items.length, finishesFirst ? "f" : "s", ...items.flat(), ...sends.flat()],
              this.#durability,
            ));
    } finally {
      this.#taking -= want;
      if (result === undefined) {
        if (scan) this.#lostMoves = true;
        // Failed: the receive()s it would have served are the pump's again.
        this.#wake();
      }
    }
    const [outcomes, taken, more, sent] = result as [unknown[][], unknown[], number, unknown];
    if (want > 0) this.#took(taken, more);
    return { outcomes, sent, replicas };
  }

  // Messages a take gave this receiver (held by it in Redis: given back by end(), or by the sweep if this
  // process dies) go to the waiting receive()s, the rest to the next ones.
  #took(taken: unknown[], more: number): void {
    this.#more = Number(more) > 0;
    for (const fields of taken) {
      let message: DurableMessage;
      try {
        message = parseDurableMessage(fields);
      } catch (error) {
        this.#report(error as BerryError);
        this.#markInvalid(fields);
        continue;
      }
      if (this.#ended || this.#givenOut.has(message.id)) continue;
      // Bounded: a message never finished (dropped by the application, or timed out unanswered) kept its
      // record for ever. Dropping the oldest loses no message (Redis holds it for this receiver, and
      // finishes it, requeues it or times it out by its own state); refusing takes instead would stall
      // the receiver for messages the application may never finish.
      if (this.#givenOut.size >= this.#givenOutRecords) this.#givenOut.delete(this.#givenOut.values().next().value as string);
      this.#givenOut.add(message.id);
      const waiter = this.#waiters.shift();
      if (waiter === undefined) this.#prefetched.push(message);
      else {
        waiter.timer?.clear();
        waiter.resolve(message);
      }
    }
    this.#wake();
  }

  // A record taken whole that cannot be read (reported already) ends here, marked invalid: left held, it
  // went back to the channel when this receiver ended, and the next receiver reported it again, for ever.
  // (A record without fields comes as its lone id, marked invalid by the take itself.)
  #markInvalid(fields: unknown): void {
    if (!Array.isArray(fields) || fields.length < 2 || typeof fields[0] !== "string") return;
    const id = fields[0];
    this.#run("berrymqDurableInvalid", [this.#keys.deadlines, this.prefix, this.consumer, id]).catch((error: unknown) => {
      if (!this.#ended) this.#report(new RedisCommandError(`marking unreadable durable record ${describe(id)} invalid`, error));
    });
  }

  // Starts the pump when receive()s wait that no take on its way is for.
  #wake(): void {
    if (this.#pumping || this.#ended || this.#waiters.length <= this.#taking) return;
    this.#pumping = true;
    this.#pump = this.#pumpLoop();
  }

  // Records a batch of sends; finishes queued meanwhile go in the same call (see #finishCall).
  #sendMany(items: readonly SendItem[], first: number): Promise<SendResult[]> {
    const finishes = this.#finishes.claim(() => this.#sends.bytes(items));
    if (finishes === undefined) return this.#sendCall(items);
    const call = this.#finishCall(finishes.items, items, finishes.first < first);
    finishes.settle(call.then(({ outcomes, replicas }) => outcomes.map((outcome) => ({ outcome, replicas }))));
    return call.then(({ sent, replicas }) => items.map((_, i) => sendResultAt(sent, i, replicas)));
  }

  async #sendCall(items: readonly SendItem[]): Promise<SendResult[]> {
    const { result, replicas } = await this.#write(
      "berrymqDurableSend",
      [this.#keys.deadlines, this.prefix, ...items.flat()],
      this.#durability,
    );
    return items.map((_, i) => sendResultAt(result, i, replicas));
  }

  // Runs a script that changes what receivers or senders see, waiting for the replicas with durability.
  async #write(
    name: string,
    args: readonly (string | number)[],
    durability: Durability | undefined,
  ): Promise<{ result: unknown; replicas: number | undefined }> {
    if (durability === undefined) {
      // Refused by a fenced master during a failover (NOREPLICAS, READONLY): sent again, not rejected.
      const result = await retryThroughFailover(() => runScript(this.#client, name, args), () => !this.#ended);
      return { result, replicas: undefined };
    }
    return this.#replicatedScripts().run(name, args, durability);
  }

  // As #write, for a script whose answer alone matters.
  async #run(name: string, args: readonly (string | number)[]): Promise<unknown> {
    return (await this.#write(name, args, this.#durability)).result;
  }

  // Whether a tick was refused for a failover (reported) and none passed since.
  #tickRefused = false;

  // Heartbeat (lease renewal, at a third of the lease) and sweep, one at a time so none pile up while Redis is away.
  async #tick(): Promise<void> {
    if (this.#ended) return;
    if (this.#ticking) return;
    this.#ticking = true;
    this.#stall.waiting();
    try {
      // Monotonic: with a wall clock set back, heartbeats stopped until it caught up, and the lease (on
      // Redis's clock) ran out under a live receiver (before r27).
      // At least every MAX_BEAT: the beat also checks the prefix's mark (lost data), which a long lease
      // (Infinity: one beat, at open) left unchecked for ever (before r27).
      if (performance.now() - this.#lastBeat >= this.#beatEvery) await this.#heartbeat();
      // Half a tick early at most: the interval's ticks may come a little short of it.
      if (performance.now() - this.#lastSweep < this.#sweepInterval - this.#tickEvery / 2) return;
      this.#lastSweep = performance.now();
      await runScript(this.#client, "berrymqDurableSweep", [
        this.#keys.deadlines,
        this.prefix,
        this.#retain,
        100,
        this.#outageGap,
        this.#sweepHold,
        this.#finishedRecords,
      ]);
      this.#tickRefused = false;
    } catch (error) {
      // Refused while a failover lasts (NOREPLICAS on a master fenced by min-replicas-to-write, READONLY):
      // reported once until a tick passes again, not every tick (before r32: 46 reports in one failover).
      const refused = isRefusedDuringFailover(error);
      if (!this.#ended && !(refused && this.#tickRefused)) this.#report(new RedisCommandError("durable channel sweep", error));
      if (refused) this.#tickRefused = true;
    } finally {
      this.#ticking = false;
      this.#stall.answered(false);
    }
  }

  async #heartbeat(): Promise<void> {
    this.#lastBeat = performance.now();
    const mark = String(
      await runScript(this.#client, "berrymqDurableBeat", [
        this.#keys.deadlines,
        this.prefix,
        this.consumer,
        this.name,
        this.#lease,
        randomUUID(),
        this.#finishedRecords,
      ]),
    );
    // Another mark than the last one seen: the prefix's keys were lost and made again meanwhile.
    if (this.#instance !== undefined && mark !== "" && mark !== this.#instance && !this.#ended)
      this.#report(new RedisDataLostError(`durable channel "${this.name}"`, this.prefix));
    if (mark !== "") this.#instance = mark;
  }

  #checkOpen(): void {
    if (this.#ended) throw new ChannelEndedError(this.name);
  }

  #report(error: BerryError): void {
    // Before open() returned the channel nobody could listen: every report became a process warning (a
    // "connection lost, reconnecting" for each open() that never connected, before r29). Held, at most a few.
    if (this.#heldReports !== undefined) {
      if (this.#heldReports.length < HELD_REPORTS) this.#heldReports.push(error);
      return;
    }
    emitError(this, error, (unheard) => process.emitWarning(unheard));
  }
}

/** A `receive()` waiting for a message. */
interface Waiter {
  resolve(message: DurableMessage): void;
  reject(error: unknown): void;
  /** When its timeout ends (performance.now() ms; Infinity: none). */
  until: number;
  timer: LongTimer | undefined;
}

/** What a send gives the script per message: id, from, to, kind, content, inReplyTo, timeout. */
type SendItem = readonly (string | number)[];

/** What a send's script answered (sentAt, deadline), and how many replicas confirmed it (with durability). */
type SendResult = [number, number, number | undefined];

/** What a finish's script answered for one message, and how many replicas confirmed the batch (with durability). */
interface FinishResult {
  outcome: unknown[];
  replicas: number | undefined;
}

/** What a finish sends per message: id, mode, reply id (a fresh token for close), response, reply timeout. */
type FinishItem = readonly [string, "reply" | "close", string, string, number];

// What a call rejects with: a BerryError as it is; anything Redis refused (WRONGTYPE for a key another
// client wrote, OOM...) as a RedisCommandError, whose cause is Redis's error.
function typed(what: string, error: unknown): BerryError {
  return error instanceof BerryError ? error : new RedisCommandError(what, error);
}

function encode(content: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(content);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw new InvalidArgumentError("content", content, "a JSON value");
  // What a receiver refuses (parseDurableMessage: nested deeper than 64 levels, a __proto__ key...) is
  // refused here: recorded, it was marked invalid by the receiver that took it, and its sender got neither a
  // reply nor a timeout notice (before r30). The walk of the value passes nearly all content at once; only
  // what fails it is read back as a receiver reads it (NaN is written null, a Date its text: those go).
  try {
    checkJsonValue(content, "content", 0);
  } catch {
    try {
      checkJsonValue(JSON.parse(text), "content", 0);
    } catch (error) {
      throw new InvalidArgumentError("content", content, `JSON data a receiver accepts (${errorText(error)})`);
    }
  }
  return text;
}

function checkName(argument: string, value: unknown): void {
  if (typeof value !== "string" || value.length === 0 || value.length > 256) {
    throw new InvalidArgumentError(argument, value, "a channel name (a non-empty string of at most 256 characters)");
  }
}

// What the expiry of a message appends to its id to make its timeout notice's (durable-scripts.ts).
const NOTICE_SUFFIX = "/timeout";

// Redis keeps durations as Lua numbers: "never" is a span no deployment reaches (about 285,000 years).
const NEVER = 2 ** 53;

function checkTimeout(timeout: number | undefined): number {
  if (timeout === undefined) return 0;
  checkDuration("timeout", timeout);
  if (timeout === Number.POSITIVE_INFINITY) return 0;
  if (!Number.isInteger(timeout)) throw new InvalidArgumentError("timeout", timeout, "an integer number of ms >= 0, or Infinity");
  return timeout;
}

function duration(argument: string, value: number): number {
  checkDuration(argument, value);
  if (value === Number.POSITIVE_INFINITY) return NEVER;
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError(argument, value, "an integer number of ms >= 1, or Infinity");
  return value;
}

// The SEND script answers sentAt and deadline for each message, one after the other.
function sendResultAt(reply: unknown, i: number, replicas: number | undefined): SendResult {
  const flat = reply as number[];
  return [Number(flat[2 * i]), Number(flat[2 * i + 1]), replicas];
}

function sentMessage(id: string, inbox: string, [sentAt, due, replicas]: SendResult): SentMessage {
  // The SEND script's -1: another message (from or to another channel) has the id; nothing was recorded.
  if (sentAt === -1)
    throw new InvalidArgumentError(
      "id",
      id,
      "the id of no other message (a resend with it goes from the same channel to the same channel)",
    );
  // -2: another client wrote another type under the channel's inbox; nothing was recorded.
  if (sentAt === -2) throw new RedisCommandError(`sending durable message ${id}`, new Error(`WRONGTYPE ${inbox} is not a list`));
  const deadline = due > 0 ? due : undefined;
  return replicas === undefined ? { id, sentAt, deadline } : { id, sentAt, deadline, replicas };
}
