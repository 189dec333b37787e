import { randomUUID } from "node:crypto";
import { EventEmitter } from "eventemitter3";
import { type BerryError, InvalidArgumentError } from "../../lib/errors.js";
import { checkDuration, MAX_TIMER_DELAY } from "../../lib/long-timer.js";
import { BLOCK_SLICE, BlockingClient } from "./blocking-client.js";
import { closeClient, defineScripts, isCluster, openClient, type RedisClient, type RedisConnection, runScript } from "./connection.js";
import { type DurableMessage, parseDurableMessage } from "./durable-message.js";
import { DURABLE_SCRIPTS } from "./durable-scripts.js";
import { checkHashTagPrefix, hashSlot } from "./hash-slot.js";
import { reportOutages } from "./outage.js";
import { ChannelEndedError, LateReplyError, NotHeldError, RedisCommandError, ReceiveTimeoutError } from "./errors.js";

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
  /** How often this channel times out due messages and requeues dead receivers' ones, in ms (default 100). */
  sweepInterval?: number;
  /** How long a timed-out message is remembered, so a late reply is recognised as late, in ms (default 1 day). */
  retain?: number;
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
   */
  id?: string;
  /**
   * Wait until `replicas` replicas have the message (Redis WAIT), for at most `timeout` ms, before
   * resolving; `SentMessage.replicas` says how many confirmed. Default: `{ replicas: 0 }` (the master's
   * acknowledgement only: replication is asynchronous, so a failover can lose the last messages).
   */
  durability?: { replicas: number; timeout: number };
}

/** What `send()` and `reply()` resolve to once Redis has recorded the message. */
export interface SentMessage {
  readonly id: string;
  readonly sentAt: number;
  /** `undefined` when it has no timeout. */
  readonly deadline: number | undefined;
  /** With `durability`: how many replicas confirmed having it (fewer than asked when the wait timed out). */
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

const DEFAULTS = { lease: 5_000, sweepInterval: 100, retain: 86_400_000 };

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
  readonly #keys: { deadlines: string; inbox: string; held: string };
  readonly #outageGap: number;
  readonly #ready: Promise<void>;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #lastBeat = 0;
  #ended = false;
  #receiving = 0;
  /** Whether the inbox had more queued at the last take (else `receive()` blocks at once). */
  #more = true;
  /** Whether the blocking connection was re-established since the last full take. */
  #lostMoves = false;
  /** Messages a `reply()`/`close()` took for this receiver (held by it in Redis), for the next `receive()`s. */
  readonly #prefetched: DurableMessage[] = [];
  #prefetching = 0;
  /** Wakes one receive() waiting in BLMOVE, for a message taken ahead. */
  readonly #wakers = new Set<() => void>();
  /** BLMOVEs whose receive() was served otherwise, still pending. */
  #orphans = 0;

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

  /** Opens a channel and waits until Redis has registered it as a live receiver. */
  static async open(name: string, options: DurableChannelOptions = {}): Promise<DurableChannel> {
    const channel = new DurableChannel(name, options);
    try {
      await channel.#ready;
    } catch (error) {
      await channel.end();
      throw error;
    }
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
    const sweepInterval = duration("sweepInterval", options.sweepInterval ?? DEFAULTS.sweepInterval);
    if (sweepInterval > MAX_TIMER_DELAY) throw new InvalidArgumentError("sweepInterval", sweepInterval, `an interval of at most ${MAX_TIMER_DELAY} ms`);
    // No sweep for this long means nobody could reach Redis: leases are extended by that time.
    this.#outageGap = Math.max(1_000, 3 * sweepInterval);
    const p = this.prefix;
    this.#keys = { deadlines: `${p}deadlines`, inbox: `${p}in:${name}`, held: `${p}held:${this.consumer}` };
    const connection = options.connection ?? "redis://127.0.0.1:6379";
    // Commands wait through a Redis restart instead of failing: nothing acknowledged is given up.
    this.#client = openClient(connection, { maxRetriesPerRequest: null, connectionName: `berrymq-durable:${this.consumer}` });
    defineScripts(this.#client, DURABLE_SCRIPTS);
    const blocking = openClient(connection, { maxRetriesPerRequest: null, connectionName: `berrymq-durable-block:${this.consumer}` });
    this.#blocking = new BlockingClient(blocking, this.#client);
    blocking.on("close", () => {
      this.#lostMoves = true;
    });
    // Commands wait out an outage (they are not failed), so losing the connection is reported here.
    reportOutages(`durable channel "${name}"`, [this.#client, blocking], (error) => this.#report(error));
    this.#ready = this.#heartbeat();
    this.#ready.catch(() => {});
    this.#timer = setInterval(() => void this.#tick(), sweepInterval);
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
    const args = [this.#keys.deadlines, this.prefix, id, this.name, options.to, "message", encode(content), "", timeout];
    const durability = options.durability;
    if (durability === undefined || durability.replicas === 0) {
      if (durability !== undefined) checkDurability(durability);
      const reply = (await runScript(this.#client, "berrymqDurableSend", args)) as [number, number];
      return sentMessage(id, reply, undefined);
    }
    checkDurability(durability);
    // WAIT counts the replicas that have every write of its own connection: it goes out right behind the
    // send, in one pipeline (on a Cluster, to the master that took the send).
    const pipeline = this.#client.pipeline() as unknown as Record<string, (...values: (string | number)[]) => unknown> & { wait(replicas: number, timeout: number): unknown; exec(): Promise<[Error | null, unknown][] | null> };
    (pipeline.berrymqDurableSend as (...values: (string | number)[]) => unknown)(...args);
    pipeline.wait(durability.replicas, durability.timeout === Number.POSITIVE_INFINITY ? 0 : Math.max(1, Math.ceil(durability.timeout)));
    const results = await pipeline.exec();
    if (results === null) throw new RedisCommandError("sending a durable message", new Error("pipeline discarded"));
    const [[sendError, reply], [waitError, replicas]] = results as [[Error | null, [number, number]], [Error | null, number]];
    if (sendError) throw sendError;
    if (waitError) throw waitError;
    return sentMessage(id, reply, Number(replicas));
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
    const until = timeout === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeout;
    this.#receiving++;
    try {
      await this.#ready;
      for (;;) {
        if (this.#ended) throw new ChannelEndedError(this.name);
        const prefetched = this.#prefetched.shift();
        if (prefetched !== undefined) return prefetched;
        // Block at once when the last take saw an empty inbox (one call fewer); take first when more was
        // queued, or after the blocking connection came back (a BLMOVE answer it lost is in the held list).
        if (this.#more || this.#lostMoves) {
          this.#lostMoves = false;
          const taken = await this.#take("");
          if (taken !== undefined) return taken;
          // Something may have been taken ahead while this take ran (no waker was registered then).
          const meanwhile = this.#prefetched.shift();
          if (meanwhile !== undefined) return meanwhile;
        }
        const wait = Math.min(until - Date.now(), BLOCK_SLICE);
        if (wait <= 0) throw new ReceiveTimeoutError(this.name, timeout ?? 0);
        const move = this.#blocking.run(this.#keys.inbox, (client) => client.blmove(this.#keys.inbox, this.#keys.held, "LEFT", "RIGHT", wait / 1000));
        // A reply()/close() may take a message ahead meanwhile: this receive() gets it at once, and what
        // the BLMOVE still moves later is claimed and kept for the next receive().
        let wake: (() => void) | undefined;
        const woken = new Promise<typeof WOKEN>((resolve) => {
          wake = () => resolve(WOKEN);
          this.#wakers.add(wake);
        });
        const moved = await Promise.race([move, woken]);
        this.#wakers.delete(wake as () => void);
        if (moved === WOKEN) {
          this.#claimLater(move);
          continue;
        }
        // Ended while blocked: whatever was moved meanwhile sits in the held list, which end() gives back.
        if (this.#ended) throw new ChannelEndedError(this.name);
        if (moved !== null) {
          const claimed = await this.#take(String(moved));
          if (claimed !== undefined) return claimed;
        }
      }
    } finally {
      this.#receiving--;
    }
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
    const [, sentAt, deadline] = await this.#finish(message, "reply", id, encode(response), timeout);
    return { id, sentAt, deadline: deadline > 0 ? deadline : undefined };
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
   * the front of their channel for another receiver, and its connections close.
   */
  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    // Prefetched messages are in this receiver's held list: the release below gives them back.
    this.#prefetched.length = 0;
    while (this.#receiving > 0 || this.#orphans > 0) {
      await this.#blocking.unblock();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    try {
      if (this.#client.status === "ready") await runScript(this.#client, "berrymqDurableRelease", [this.#keys.deadlines, this.prefix, this.consumer]);
    } catch (error) {
      this.#report(new RedisCommandError("releasing held messages at end", error));
    }
    await this.#blocking.close();
    await closeClient(this.#client);
  }

  async #take(id: string): Promise<DurableMessage | undefined> {
    const token = randomUUID();
    const fields = await runScript(this.#client, "berrymqDurableTake", [this.#keys.deadlines, this.prefix, this.name, this.consumer, id, this.#retain, token]);
    if (fields === null) {
      this.#more = false;
      return undefined;
    }
    this.#more = moreQueued(fields);
    return parseDurableMessage(fields);
  }

  async #finish(message: DurableMessage, mode: "reply" | "close", replyId: string, response: string, timeout: number): Promise<[string, number, number]> {
    if (typeof message?.id !== "string") throw new InvalidArgumentError("message", message, "a message returned by receive()");
    // Take the next message in the same call when more is queued and a receive() will want it: at most
    // one prefetched message more than there are receive()s waiting.
    const next = this.#more && this.#prefetched.length + this.#prefetching <= this.#receiving ? randomUUID() : "";
    if (next !== "") this.#prefetching++;
    let result: unknown[];
    try {
      result = (await runScript(this.#client, "berrymqDurableFinish", [this.#keys.deadlines, this.prefix, this.consumer, message.id, mode, this.#retain, replyId, response, timeout, this.name, next])) as unknown[];
    } finally {
      if (next !== "") this.#prefetching--;
    }
    const outcome = String(result[0]);
    if (outcome === "late") throw new LateReplyError(message.id);
    if (outcome === "notheld") throw new NotHeldError(message.id, String(result[1]));
    if (next !== "") this.#prefetch(result[3]);
    return [outcome, Number(result[1]), Number(result[2])];
  }

  // A message a finish took: it is held by this receiver in Redis (given back by end(), or by the sweep
  // if this process dies), so it waits here for the next receive(), which a blocked BLMOVE is woken for.
  #prefetch(fields: unknown): void {
    if (fields === undefined || fields === null) {
      this.#more = false;
      return;
    }
    this.#more = moreQueued(fields);
    try {
      this.#keep(parseDurableMessage(fields));
    } catch (error) {
      this.#report(error as BerryError);
    }
  }

  #keep(message: DurableMessage): void {
    this.#prefetched.push(message);
    const [wake] = this.#wakers;
    if (wake !== undefined) {
      this.#wakers.delete(wake);
      wake();
    }
  }

  // Claims what a BLMOVE no receive() waits for any more moved into the held list (once ended, end()'s
  // release gives it back instead).
  #claimLater(move: Promise<unknown>): void {
    this.#orphans++;
    void move
      .then(async (moved) => {
        if (moved === null || this.#ended) return;
        const claimed = await this.#take(String(moved));
        if (claimed !== undefined) this.#keep(claimed);
      })
      .catch((error: unknown) => this.#report(new RedisCommandError("claiming a moved durable message", error)))
      .finally(() => {
        this.#orphans--;
      });
  }

  // Heartbeat (lease renewal, at a third of the lease) and sweep, one at a time so none pile up while Redis is away.
  async #tick(): Promise<void> {
    if (this.#ticking || this.#ended) return;
    this.#ticking = true;
    try {
      if (Date.now() - this.#lastBeat >= this.#lease / 3) await this.#heartbeat();
      await runScript(this.#client, "berrymqDurableSweep", [this.#keys.deadlines, this.prefix, this.#retain, 100, this.#outageGap]);
    } catch (error) {
      if (!this.#ended) this.#report(new RedisCommandError("durable channel sweep", error));
    } finally {
      this.#ticking = false;
    }
  }

  async #heartbeat(): Promise<void> {
    this.#lastBeat = Date.now();
    await runScript(this.#client, "berrymqDurableBeat", [this.#keys.deadlines, this.prefix, this.consumer, this.name, this.#lease]);
  }

  #checkOpen(): void {
    if (this.#ended) throw new ChannelEndedError(this.name);
  }

  #report(error: BerryError): void {
    if (!this.emit("error", error)) process.emitWarning(error);
  }
}

const WOKEN = Symbol("woken");

// The TAKE script appends "more", <inbox length> to the record's fields.
function moreQueued(fields: unknown): boolean {
  return Array.isArray(fields) && Number(fields[fields.length - 1]) > 0;
}

function encode(content: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(content);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw new InvalidArgumentError("content", content, "a JSON value");
  return text;
}

function checkName(argument: string, value: unknown): void {
  if (typeof value !== "string" || value.length === 0 || value.length > 256) {
    throw new InvalidArgumentError(argument, value, "a channel name (a non-empty string of at most 256 characters)");
  }
}

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
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(argument, value, "an integer number of ms >= 1, or Infinity");
  return value;
}

function checkDurability(durability: { replicas: number; timeout: number }): void {
  if (typeof durability !== "object" || durability === null || !Number.isInteger(durability.replicas) || durability.replicas < 0) {
    throw new InvalidArgumentError("durability", durability, "{ replicas: an integer >= 0, timeout: ms (Infinity: wait as long as it takes) }");
  }
  checkDuration("durability.timeout", durability.timeout);
}

function sentMessage(id: string, reply: [number, number], replicas: number | undefined): SentMessage {
  const deadline = Number(reply[1]) > 0 ? Number(reply[1]) : undefined;
  return replicas === undefined ? { id, sentAt: Number(reply[0]), deadline } : { id, sentAt: Number(reply[0]), deadline, replicas };
}
