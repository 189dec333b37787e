import { randomUUID } from "node:crypto";
import { EventEmitter } from "eventemitter3";
import { ReplyError } from "ioredis";
import type { Bus, QueueSink, Unsubscribe } from "../../lib/bus.js";
import { defaultBus } from "../../lib/default-bus.js";
import { type BerryError, emitError, InvalidArgumentError, QueueClosedError, QueueEmptyError, QueueTimeoutError } from "../../lib/errors.js";
import { parseIdentifier } from "../../lib/identifier.js";
import { checkDuration, setLongTimeout } from "../../lib/long-timer.js";
import type { Message } from "../../lib/message.js";
import type { GetOptions } from "../../lib/queue.js";
import { untilClosed } from "../../lib/until-closed.js";
import { fromEnvelope, toEnvelope } from "../envelope.js";
import { InvalidEnvelopeError } from "../errors.js";
import { BLOCK_SLICE, BlockingClient } from "./blocking-client.js";
import { closeClient, defineScripts, openClient, type RedisClient, type RedisConnection, runScript } from "./connection.js";
import { CutOff } from "./cut-off.js";
import { isRefusedDuringFailover, retryThroughFailover } from "./failover-retry.js";
import { RedisCommandError, RedisDataLostError, RedisQueueOverflowError, RedisQueuePushBackError } from "./errors.js";
import { checkHashTagPrefix, hashSlot } from "./hash-slot.js";
import { reportOutages } from "./outage.js";
import { settlesWithin } from "./settles-within.js";
import { StallWatch } from "./stall-watch.js";

/** Options of a {@link RedisQueue}. */
export interface RedisQueueOptions {
  /** The bus whose matching messages feed the queue (default: `defaultBus`). */
  bus?: Bus;
  /** Where Redis is (default `redis://127.0.0.1:6379`). */
  connection?: RedisConnection;
  /** Key prefix (default `"berrymq:"`). The list is `<prefix>queue:{<name>}`. */
  prefix?: string;
  /** Queue name shared by every process (default: the canonical filter, e.g. `"task:*"`). */
  name?: string;
  /** Whether this process's matching messages are pushed into the queue (default true); false: consume only. */
  feed?: boolean;
  /** How long a pushed messageId is remembered so that a copy arriving through another bus is not queued twice, in ms (default 600,000). */
  dedupeWindow?: number;
  /**
   * How many pushes may wait for Redis at once (default 10,000): while Redis is away they are held in
   * memory. A message fed past it is not queued but counted in `stats.failed` and reported
   * (RedisCommandError naming it).
   */
  maxPending?: number;
}

/** Counters of a Redis queue. */
export interface RedisQueueStats {
  /** Messages pushed into Redis by this process. */
  pushed: number;
  /** Messages not pushed because the same messageId was queued already (by this or another process). */
  duplicates: number;
  /** Messages that could not be pushed (reported on the bus as RedisCommandError). */
  failed: number;
  /**
   * Messages popped while the queue closed (or their get() was aborted) that could not be put back in
   * Redis (reported as RedisQueuePushBackError, which carries each whole).
   */
  unreturned: number;
}

/** Events of a Redis queue. */
export interface RedisQueueEvents {
  /**
   * The connection to Redis was lost (RedisConnectionError, once per outage; the clients reconnect by
   * themselves), a push failed (RedisCommandError), pushes waited 10 s unanswered on live connections (a
   * RedisCommandError, once per stall: a Cluster slot migration left half-way), a message popped while the queue closed could not be
   * put back (RedisQueuePushBackError, carrying it) or a queued value was not a valid envelope
   * (InvalidEnvelopeError), or Redis came back without the queue's keys (RedisDataLostError: restarted
   * empty or flushed). With no listener, the error goes to the bus's `report()`.
   */
  error: [error: BerryError];
}

// The queue's mark (KEYS[n], ARGV[m] a new one): returned, set to the new one when there is none (the keys
// were lost: Redis restarted empty, or flushed); '' when another type is under the name (no check).
const READ_MARK = `local function mark(key, fresh)
  local kind = redis.call('TYPE', key).ok
  if kind == 'none' then
    redis.call('SET', key, fresh)
    return fresh
  end
  if kind == 'string' then return redis.call('GET', key) end
  return ''
end
`;

// KEYS: list, seen-marker, the queue's mark; ARGV: envelope, window, a new mark. Pushes once per messageId
// within the window. Returns {the list's length, or 0 for a duplicate; the mark}: each push checks the
// mark as it goes (no round trip of its own), so a queue that feeds notices a FLUSHALL at its next push.
const PUSH_ONCE = {
  lua: `${READ_MARK}local seen = mark(KEYS[3], ARGV[3])
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return {redis.call('RPUSH', KEYS[1], ARGV[1]), seen} end
return {0, seen}`,
  keys: 3,
};

// KEYS: the queue's mark; ARGV: a new mark. Returns the mark (READ_MARK).
const MARK = {
  lua: `${READ_MARK}return mark(KEYS[1], ARGV[1])`,
  keys: 1,
};

/**
 * How often a waiting get() checks the queue's mark at most, in ms: a FLUSHALL on a live connection is
 * noticed within about this (plus a blocking slice) by a queue that consumes, at its next push by one that
 * feeds. One MARK call per interval, on the other connection, never one per message.
 */
const MARK_CHECK = 1_000;

// KEYS: a holding list, the queue; ARGV: how long the holding list lives (ms), values handed over since the
// last take (removed from the holding list first). The poll's take: what the holding list still has (a
// take whose answer was lost), else the queue's first, moved into it. A take that is sent again after a
// lost answer returns the same message.
const TAKE = {
  lua: `for i = 2, #ARGV do redis.call('LREM', KEYS[1], 1, ARGV[i]) end
local held = redis.call('LINDEX', KEYS[1], 0)
if held then return held end
local value = redis.call('LMOVE', KEYS[2], KEYS[1], 'LEFT', 'RIGHT')
if value then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return value`,
  keys: 2,
};

// KEYS: a holding list; ARGV: how long the holding list lives (ms), the values handed over. Returns how
// many values the holding list still has: takes whose answers were lost.
const HANDED = {
  lua: `for i = 2, #ARGV do redis.call('LREM', KEYS[1], 1, ARGV[i]) end
local left = redis.call('LLEN', KEYS[1])
if left > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return left`,
  keys: 1,
};

// KEYS: a holding list, the queue; ARGV: a value taken but not handed over. Back to the queue's front if the
// holding list still has it (not if close() put it back already): never twice.
const PUT_BACK = {
  lua: `if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0`,
  keys: 2,
};

// KEYS: the holding lists, the queue. Everything held goes back to the queue's front, in its order.
const RESTORE = {
  lua: `local moved = 0
for i = 1, #KEYS - 1 do
  while redis.call('LMOVE', KEYS[i], KEYS[#KEYS], 'RIGHT', 'LEFT') do moved = moved + 1 end
end
return moved`,
  keys: 3,
};

/**
 * How long a holding list lives in Redis past its last take, in ms (24 h): what a consumer that died with
 * a take unanswered left there is deleted then (it was lost with the consumer: at most once).
 */
export const HOLD_TTL = 86_400_000;

/**
 * The key of a holding list of queue `key`: in the queue's Cluster hash slot (so that a move between them
 * is one command), `<key>:taking:<id>`, or `{<tag>}<key>:taking:<id>` when the key has no hash tag of its
 * own that the suffix keeps (a name that starts with "}").
 */
export function holdingKey(key: string, id: string): string {
  const plain = `${key}:taking:${id}`;
  const slot = hashSlot(key);
  if (hashSlot(plain) === slot) return plain;
  for (let n = 0; ; n++) if (hashSlot(`{q${n}}`) === slot) return `{q${n}}${plain}`;
}

/** One way of taking (blocking, or polling): its holding list, and one take at a time through it. */
interface Lane {
  readonly key: string;
  /** The connection its takes, and the removals of what they hand over, go out on (in order). */
  readonly client: RedisClient;
  /** Settles when the last take that asked for the lane is done with it. */
  tail: Promise<void>;
  /** Whether the holding list may have a value whose take's answer was lost (looked at before the next take). */
  recover: boolean;
  /** Values handed over, to remove from the holding list: sent with the lane's next take, or at the next turn of the event loop. */
  handed: string[];
}

/** How long past its timeout (or its signal) a get() whose pop Redis does not answer gives up, in ms. */
const GIVE_UP_SLACK = 250;

/** How long close() waits for Redis to answer its last steps before it cuts the connections, in ms. */
const CLOSE_GRACE = 5_000;

/**
 * A queue in Redis with the interface of the in-process `Queue`: every process that opens the same queue
 * name competes for its messages (each goes to one `get()`), and each feeds it with the messages of its
 * bus that match the filter. Differences: `getNowait()` and `qsize()` return promises, `close()` returns
 * a promise and leaves queued messages in Redis for the other consumers. A message is handed over once,
 * at `get()` (at most once if the consumer then dies: use a DurableChannel for acknowledged work).
 * @example
 * const queue = new RedisQueue("task:*", { bus, connection: "redis://127.0.0.1:6379" });
 * bus.twitter("task:run", 1); // pushed to Redis
 * const message = await queue.get({ timeout: 1000 }); // in this or any other process
 * await queue.close();
 */
export class RedisQueue extends EventEmitter<RedisQueueEvents> implements AsyncIterable<Message> {
  /** Canonical filter, e.g. `"task:*"`. */
  readonly filter: string;
  /** Name shared by every process using the queue. */
  readonly name: string;
  /** Redis key of the list. */
  readonly key: string;
  readonly stats: RedisQueueStats = { pushed: 0, duplicates: 0, failed: 0, unreturned: 0 };
  readonly bus: Bus;
  readonly #client: RedisClient;
  readonly #blocking: BlockingClient;
  readonly #detach: Unsubscribe | undefined;
  readonly #window: number;
  readonly #maxPending: number;
  /** Pushes on their way, with the message each pushes (close() reports those Redis never answered). */
  readonly #pushes = new Map<Promise<void>, Message>();
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The queue's mark (`<key>:instance`) seen at the last connection: it changes when Redis lost the queue's keys. */
  #mark: string | undefined;
  /** When the get() loop last asked for the mark (performance.now() ms), and whether that check is on its way. */
  #markAsked = Number.NEGATIVE_INFINITY;
  #markChecking = false;
  /** Cut when close() cuts the connections: what waits for an answer that will never come stops waiting. */
  readonly #cut = new CutOff();
  #getting = 0;
  /** Takes holding a lane (a get() that gave up may leave its take in flight). */
  #holding = 0;
  /** Holding lists (a take moves the message there; it leaves once handed over): blocking, and polling. */
  readonly #waitLane: Lane;
  readonly #pollLane: Lane;
  /** Removals from a holding list on their way (close() waits for them before it puts back what is held). */
  readonly #handing = new Set<Promise<void>>();
  /**
   * Reports pushes unanswered for STALL ms on live connections, once, as a durable channel reports its
   * calls: before r28 a Cluster slot stuck half-migrated held every push until maxPending, unreported.
   */
  readonly #stall: StallWatch;

  constructor(filter: string, options: RedisQueueOptions = {}) {
    super();
    const parsed = parseIdentifier(filter);
    this.filter = parsed.id;
    this.name = options.name ?? parsed.id;
    if (typeof this.name !== "string" || this.name.length === 0)
      throw new InvalidArgumentError("name", this.name, "a non-empty string");
    const prefix = options.prefix ?? "berrymq:";
    // The list and its seen-markers share a slot through the {name} tag, unless the prefix brings a tag of
    // its own first: then that one must not be empty (Redis would hash whole keys, and scatter them).
    if (/[{}]/.test(prefix)) checkHashTagPrefix("prefix", prefix);
    this.key = `${prefix}queue:{${this.name}}`;
    this.bus = options.bus ?? defaultBus;
    this.#window = options.dedupeWindow ?? 600_000;
    if (!Number.isInteger(this.#window) || this.#window < 1)
      throw new InvalidArgumentError("dedupeWindow", this.#window, "an integer >= 1 (ms)");
    this.#maxPending = options.maxPending ?? 10_000;
    if (!Number.isSafeInteger(this.#maxPending) || this.#maxPending < 1)
      throw new InvalidArgumentError("maxPending", this.#maxPending, "an integer >= 1");
    const connection = options.connection ?? "redis://127.0.0.1:6379";
    // A push during a reshard of the queue's slot is answered TRYAGAIN (its seen-marker is new) until the
    // slot has moved: followed as long as it lasts (before r27, 16 tries, then failed and reported).
    this.#client = openClient(connection, { connectionName: `berrymq-queue:${this.name}`, followMoves: true });
    defineScripts(this.#client, {
      berrymqQueuePush: PUSH_ONCE,
      berrymqQueueMark: MARK,
      berrymqQueueTake: TAKE,
      berrymqQueueHanded: HANDED,
      berrymqQueuePutBack: PUT_BACK,
      berrymqQueueRestore: RESTORE,
    });
    // At each connection: a mark other than the last one seen means what was queued was lost meanwhile.
    this.#client.on("ready", () => void this.#checkMark());
    const blocking = openClient(connection, { maxRetriesPerRequest: null, connectionName: `berrymq-queue-block:${this.name}` });
    this.#blocking = new BlockingClient(blocking, this.#client);
    defineScripts(blocking, { berrymqQueueHanded: HANDED });
    const id = randomUUID();
    this.#waitLane = { key: holdingKey(this.key, id), client: blocking, tail: Promise.resolve(), recover: false, handed: [] };
    this.#pollLane = {
      key: holdingKey(this.key, `${id}:poll`),
      client: this.#client,
      tail: Promise.resolve(),
      recover: false,
      handed: [],
    };
    reportOutages(`redis queue ${this.key}`, [this.#client, blocking], (error) => this.#report(error));
    this.#stall = new StallWatch(this.#client, `pushing to queue ${this.key}`, `queue ${this.key}`, "pushes", (error) =>
      this.#report(error),
    );
    const sink: QueueSink = { offer: (message) => this.#offer(message), close: () => void this.close() };
    this.#detach = options.feed === false ? undefined : this.bus.attachQueue(parsed, sink);
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Number of messages waiting in Redis (for every consumer). */
  async qsize(): Promise<number> {
    return this.#client.llen(this.key);
  }

  /**
   * The oldest message in the queue; waits for one.
   * @throws QueueTimeoutError after `timeout` ms, QueueClosedError when the queue is closed meanwhile,
   * the signal's reason when it aborts, RedisCommandError for what Redis refuses (e.g. WRONGTYPE).
   */
  async get(options: GetOptions = {}): Promise<Message> {
    const { timeout, signal } = options;
    // As the in-process Queue's: Infinity (or none) waits, 0 takes a message only if one is there.
    if (timeout !== undefined) checkDuration("timeout", timeout);
    // Monotonic: with a wall clock set back, a get()'s timeout was stretched by as much (before r27).
    const until = timeout === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeout;
    let first = true;
    // Redis down or hung: ioredis holds the pop until it is back (the blocking client waits through an
    // outage), so the timeout and the signal end the get() themselves, GIVE_UP_SLACK ms past its time.
    let expire: ((value: "expired") => void) | undefined;
    const expired = new Promise<"expired">((resolve) => {
      expire = resolve;
    });
    const timer =
      until === Number.POSITIVE_INFINITY ? undefined : setLongTimeout(() => expire?.("expired"), (timeout ?? 0) + GIVE_UP_SLACK);
    const onAbort = (): void => {
      void this.#blocking.unblock();
      setTimeout(() => expire?.("expired"), GIVE_UP_SLACK).unref();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#getting++;
    try {
      for (;;) {
        if (this.#closed) throw new QueueClosedError(this.filter);
        if (signal?.aborted) throw signal.reason;
        const wait = Math.min(until - performance.now(), BLOCK_SLICE);
        // No time left at the first pass (timeout 0): one pop without blocking, as a poll (before r27, none).
        if (wait <= 0 && !first) throw new QueueTimeoutError(this.filter, timeout ?? 0);
        first = false;
        // A live connection sees no reconnection when Redis is flushed: the mark is read here too, at
        // most once per MARK_CHECK, alongside the pop (not before it: the get waits for nothing more).
        if (performance.now() - this.#markAsked >= MARK_CHECK && !this.#markChecking && this.#client.status === "ready") {
          this.#markAsked = performance.now();
          void this.#checkMark();
        }
        const take = this.#take(
          wait <= 0 ? this.#pollLane : this.#waitLane,
          wait,
          () => this.#closed || signal?.aborted === true,
        );
        let popped: string | null;
        try {
          // Raced against the cut: ioredis keeps a command of a client that is reconnecting when
          // close() disconnects it, and never settles it.
          const answer = await this.#cut.race(Promise.race([take.value, expired]));
          if (answer === "expired" && !take.decided()) {
            // Before r27 the get() waited for Redis whatever its timeout. What the take moves once Redis
            // answers goes back to the front (or is reported, as a push-back is).
            take.giveUp();
            if (this.#closed) throw new QueueClosedError(this.filter);
            if (signal?.aborted) throw signal.reason;
            throw new QueueTimeoutError(this.filter, timeout ?? 0);
          }
          popped = answer === "expired" ? await take.value : answer;
        } catch (error) {
          take.giveUp();
          if (error instanceof QueueTimeoutError || (signal?.aborted && error === signal.reason)) throw error;
          // Its connection cut by a close() that Redis did not answer.
          if (this.#closed) throw new QueueClosedError(this.filter);
          // The queue's slot is being resharded: a pop moves the message into its holding list, two keys,
          // which Redis refuses (TRYAGAIN, nothing moved) while only one of them has moved. Asked again
          // shortly, within the get's time, as a push during a reshard is.
          // Likewise while a failover refuses writes (NOREPLICAS on a master fenced by min-replicas-to-write,
          // READONLY) or ends a blocked pop (UNBLOCKED: the master made a replica): before r32, rejected.
          if (isRedirected(error) || isRefusedDuringFailover(error)) {
            await new Promise((resolve) => setTimeout(resolve, RESHARD_PAUSE));
            continue;
          }
          // What Redis refused (WRONGTYPE: another client wrote the key), typed as the channel's are.
          throw new RedisCommandError(`popping from queue ${this.key}`, error);
        }
        if (popped !== null) {
          const message = this.#decode(popped, false);
          if (message !== undefined) return message;
        }
      }
    } finally {
      timer?.clear();
      this.#getting--;
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * The oldest message, without waiting (a promise: it asks Redis).
   * @throws QueueEmptyError when there is none, QueueClosedError when closed, RedisCommandError for what
   * Redis refuses.
   */
  async getNowait(): Promise<Message> {
    if (this.#closed) throw new QueueClosedError(this.filter);
    const take = this.#take(this.#pollLane, 0, () => this.#closed);
    const value = await take.value.catch((error: unknown) => {
      take.giveUp();
      throw new RedisCommandError(`popping from queue ${this.key}`, error);
    });
    if (value === null) throw new QueueEmptyError(this.filter);
    return this.#decode(value, true) as Message;
  }

  /**
   * Stops feeding and consuming: pending `get()`s reject with QueueClosedError, pushes in progress finish,
   * connections close. Queued messages stay in Redis for the other consumers.
   */
  close(): Promise<void> {
    // A second call gets the first one's promise: it resolved at once, while what a get was taking was
    // still on its way back to the queue (as DurableChannel.end() before r30).
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#detach?.();
    this.#stall.stop();
    let cut = false;
    const steps = (async () => {
      while ((this.#getting > 0 || this.#holding > 0) && !cut) {
        // Raced against the cut too: an UNBLOCK on its way when Redis dies is kept for a resend that never comes.
        await this.#cut.race(this.#blocking.unblock());
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      this.#sendHanded(this.#waitLane);
      this.#sendHanded(this.#pollLane);
      await this.#cut.race(Promise.all([...this.#pushes.keys(), ...this.#handing]));
      // What this queue still holds (takes whose answers were lost) goes back to the front, for the others.
      if (!cut) {
        await this.#cut
          .race(runScript(this.#client, "berrymqQueueRestore", [this.#waitLane.key, this.#pollLane.key, this.key]))
          .catch((error: unknown) => {
            if (!cut) this.#report(new RedisCommandError(`putting back what queue ${this.key} held`, error));
          });
      }
      await this.#blocking.close();
      await closeClient(this.#client);
    })();
    // A Redis that is hung (connected, answering nothing) or down would hold these steps, and close(), for ever.
    if (await settlesWithin(steps, CLOSE_GRACE)) return steps;
    cut = true;
    const unanswered = [...this.#pushes.values()];
    this.#pushes.clear();
    this.#report(
      new RedisCommandError(
        `closing queue ${this.key}`,
        new Error(
          `Redis did not answer within ${CLOSE_GRACE} ms: connections cut; ${unanswered.length} push(es) unanswered, each reported`,
        ),
      ),
    );
    // Counted and reported here, once: a push a disconnect() fails later finds itself gone from #pushes.
    for (const message of unanswered) {
      this.stats.failed++;
      this.#report(
        new RedisCommandError(
          `pushing to queue ${this.key}`,
          new Error("no answer from Redis before close() cut the connection (it may or may not have been queued)"),
          message,
        ),
      );
    }
    this.#blocking.disconnect();
    this.#client.disconnect();
    this.#cut.cut(new QueueClosedError(this.filter));
    await steps.catch(() => {});
  }

  /** Yields messages as they come, until the queue is closed. */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    // The signal ends a get still waiting when the iteration is ended (return()): its message stays queued.
    return untilClosed((stop) => this.get({ signal: stop.signal }));
  }

  #offer(message: Message): boolean {
    if (this.#closed) return false;
    // While Redis is away pushes wait in memory: past the bound, refused and reported rather than held.
    if (this.#pushes.size >= this.#maxPending) {
      this.stats.failed++;
      this.#report(new RedisQueueOverflowError(this.key, this.#maxPending, message));
      return false;
    }
    // Whoever takes the push out of #pushes first accounts for it: its answer, or close() cutting it short.
    const args = [
      this.key,
      `${this.key}:seen:${message.messageId}`,
      `${this.key}:instance`,
      JSON.stringify(toEnvelope(message)),
      this.#window,
      randomUUID(),
    ];
    // Refused by a fenced master during a failover (NOREPLICAS, READONLY): pushed again (its seen-marker
    // makes that safe) while it is still tracked, i.e. until close() cuts it.
    const push = (): Promise<unknown> =>
      retryThroughFailover(() => runScript(this.#client, "berrymqQueuePush", args), () => this.#pushes.has(tracked));
    const tracked: Promise<void> = push().then(
      (result) => {
        const [length, mark] = Array.isArray(result) ? result : [result, ""];
        this.#seeMark(String(mark ?? ""));
        if (!this.#pushes.delete(tracked)) return;
        this.#stall.answered(this.#pushes.size > 0);
        if (Number(length) === 0) this.stats.duplicates++;
        else this.stats.pushed++;
      },
      (error: unknown) => {
        if (!this.#pushes.delete(tracked)) return;
        this.#stall.answered(this.#pushes.size > 0);
        this.stats.failed++;
        this.#report(new RedisCommandError(`pushing to queue ${this.key}`, error, message));
      },
    );
    this.#pushes.set(tracked, message);
    this.#stall.waiting();
    return true;
  }

  // A value that is not a valid envelope is reported (and, for get(), skipped: one bad value must not stop the queue).
  #decode(value: string, raise: boolean): Message | undefined {
    try {
      return fromEnvelope(JSON.parse(value));
    } catch (error) {
      const failure =
        error instanceof SyntaxError ? new InvalidEnvelopeError("queued value", value, "a JSON envelope") : (error as BerryError);
      this.#report(failure);
      if (raise) throw failure;
      return undefined;
    }
  }

  /**
   * One take through `lane`, once the takes before it there are done: the message moves into the lane's
   * holding list as it leaves the queue (BLMOVE, or the TAKE script for a poll), so that a take whose answer
   * is lost with the connection (Redis ran it; ioredis sends it again, or the get() fails) leaves it there,
   * and the lane's next take returns it instead of the queue's next. The value is handed over (removed from
   * the holding list) as soon as the answer comes, or put back in front when `back()` says so then, or once
   * the caller gave up. One take at a time per lane: all the holding list has besides is a lost answer's.
   */
  #take(
    lane: Lane,
    wait: number,
    back: () => boolean,
  ): { value: Promise<string | null>; decided: () => boolean; giveUp: () => void } {
    let gaveUp = false;
    let decided = false;
    const before = lane.tail;
    let release: () => void = () => {};
    lane.tail = new Promise((resolve) => {
      release = resolve;
    });
    this.#holding++;
    const value = before
      .then(async () => {
        if (gaveUp || back()) return null;
        // The values handed over since the last take are removed ahead of it, in the same write (one fsync
        // for both under `appendfsync always`).
        if (lane === this.#pollLane) {
          const handed = lane.handed;
          lane.handed = [];
          try {
            return (await runScript(this.#client, "berrymqQueueTake", [lane.key, this.key, HOLD_TTL, ...handed])) as
              | string
              | null;
          } catch (error) {
            // Maybe not removed: sent again with the next take (a second removal of a value finds nothing).
            lane.handed.unshift(...handed);
            throw error;
          }
        }
        if (lane.recover) {
          // Values handed over whose removal is still to come are no lost answers: not given again.
          const removing = new Set(lane.handed);
          this.#sendHanded(lane);
          const heldList = await lane.client.lrange(lane.key, 0, removing.size);
          const held = heldList.find((value) => !removing.has(value));
          if (held !== undefined) return held;
          lane.recover = false;
        }
        const handed = lane.handed;
        lane.handed = [];
        try {
          const moved = await this.#blocking.run(this.key, async (client) => {
            const pipeline = client.pipeline();
            if (handed.length > 0)
              (pipeline as unknown as Record<string, (...args: unknown[]) => void>).berrymqQueueHanded?.(
                lane.key,
                HOLD_TTL,
                ...handed,
              );
            pipeline.blmove(this.key, lane.key, "LEFT", "RIGHT", wait / 1000);
            // A consumer that dies before it hands the value over leaves the holding list for HOLD_TTL, not for ever.
            pipeline.pexpire(lane.key, HOLD_TTL);
            const results = (await pipeline.exec()) ?? [];
            if (handed.length > 0) {
              const [error, left] = results[0] ?? [null, 0];
              // Refused for a reshard of the slot (nothing removed): removed with the next take instead.
              const refused = error !== null && (isRedirected(error) || isRefusedDuringFailover(error));
              if (refused) lane.handed.unshift(...handed);
              else if (error !== null || Number(left) > 0) lane.recover = true;
              if (error !== null && !refused && !this.#closed)
                this.#report(
                  new RedisCommandError(
                    `handing over ${handed.length} message(s) of queue ${this.key} (they may be given again)`,
                    error,
                  ),
                );
            }
            const [error, value] = results[handed.length > 0 ? 1 : 0] ?? [new Error("no answer to BLMOVE"), null];
            if (error !== null) throw error;
            return value as string | null;
          });
          // Timed out, or unblocked: a take sent again after a lost answer may have found nothing more.
          if (moved === null) lane.recover = true;
          return moved;
        } catch (error) {
          lane.recover = true;
          // Maybe not removed: sent again with the next take (a second removal of a value finds nothing).
          lane.handed.unshift(...handed);
          throw error;
        }
      })
      .then(
        async (taken) => {
          decided = true;
          if (taken === null) return null;
          if (gaveUp || back()) {
            await this.#pushBack(lane, taken);
            return null;
          }
          this.#handOver(lane, taken);
          return taken;
        },
        (error: unknown) => {
          decided = true;
          throw error;
        },
      )
      .finally(() => {
        this.#holding--;
        release();
      });
    value.catch(() => {});
    return {
      value,
      decided: () => decided,
      giveUp: () => {
        gaveUp = true;
      },
    };
  }

  // Removes a value handed over from its holding list: with the lane's next take when it comes at once (as
  // a consumer's loop asks), else alone at the next turn of the event loop. Either way on the connection of
  // the lane's takes, ahead of the next one: what it finds left there besides is a take's whose answer was lost.
  #handOver(lane: Lane, value: string): void {
    lane.handed.push(value);
    if (lane.handed.length === 1) setImmediate(() => this.#sendHanded(lane));
  }

  #sendHanded(lane: Lane): void {
    if (lane.handed.length === 0) return;
    const values = lane.handed;
    lane.handed = [];
    const handing: Promise<void> = runScript(lane.client, "berrymqQueueHanded", [lane.key, HOLD_TTL, ...values])
      .then(
        (left) => {
          if (Number(left) > 0) lane.recover = true;
        },
        (error: unknown) => {
          // Refused while a failover lasts (NOREPLICAS, READONLY: nothing removed): removed with the next
          // take, or tried again shortly. Before r32 they were given again by every get() meanwhile, each
          // reported (4,000 reports in a 2 s fenced failover).
          if (isRefusedDuringFailover(error) || isRedirected(error)) {
            lane.handed.unshift(...values);
            if (!this.#closed) setTimeout(() => this.#sendHanded(lane), HANDED_RETRY).unref();
            return;
          }
          // They stay in the holding list: given again by this queue's next get(), or put back by its close().
          lane.recover = true;
          if (!this.#closed)
            this.#report(
              new RedisCommandError(
                `handing over ${values.length} message(s) of queue ${this.key} (they may be given again)`,
                error,
              ),
            );
        },
      )
      .finally(() => this.#handing.delete(handing));
    this.#handing.add(handing);
  }

  #tryDecode(value: string): Message | undefined {
    try {
      return fromEnvelope(JSON.parse(value));
    } catch {
      return undefined;
    }
  }

  // A value that cannot go back (Redis hung or gone: close() cuts the push short) is in no queue any more:
  // counted, and reported with the message whole, so that the application can requeue or handle it.
  async #pushBack(lane: Lane, value: string): Promise<void> {
    try {
      // Raced against the cut: the script of a client close() disconnects while reconnecting never settles.
      await this.#cut.race(runScript(this.#client, "berrymqQueuePutBack", [lane.key, this.key, value]));
    } catch (error) {
      const popped = this.#tryDecode(value);
      // Only an error reply says Redis did not apply it; cut short or broken, it may still (a hung Redis
      // resumes and reads the script the closed connection had sent).
      const cause =
        error instanceof QueueClosedError
          ? new Error(`no answer from Redis within ${CLOSE_GRACE} ms: close() cut the connection`)
          : error;
      this.stats.unreturned++;
      this.#report(new RedisQueuePushBackError(this.key, value, popped, !(error instanceof ReplyError), cause));
    }
  }

  async #checkMark(): Promise<void> {
    let mark: string;
    this.#markChecking = true;
    try {
      mark = String(await runScript(this.#client, "berrymqQueueMark", [`${this.key}:instance`, randomUUID()]));
    } catch (error) {
      if (!this.#closed) this.#report(new RedisCommandError(`checking the mark of queue ${this.key}`, error));
      return;
    } finally {
      this.#markChecking = false;
    }
    this.#seeMark(mark);
  }

  // Answers come in order on the one connection: the first that carries a new mark reports the loss, once.
  #seeMark(mark: string): void {
    if (this.#mark !== undefined && mark !== "" && mark !== this.#mark && !this.#closed)
      this.#report(new RedisDataLostError(`redis queue ${this.key}`, this.key, "the messages queued before are gone"));
    if (mark !== "") this.#mark = mark;
  }

  #report(error: BerryError): void {
    emitError(this, error, (unheard) => this.bus.report(unheard));
  }
}

// Ms a get() waits before popping again when a reshard of the queue's slot refused its pop.
const RESHARD_PAUSE = 20;

// Ms before a hand-over refused while a failover lasts (NOREPLICAS, READONLY) is sent again alone.
const HANDED_RETRY = 100;

// Whether Redis refused a command for a slot being resharded or moved (TRYAGAIN: a multi-key command
// while some keys moved; ASK, MOVED: to a node's own connection, which follows no redirection; a script
// reaching a key no longer there): nothing was done, and it can be asked again.
function isRedirected(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const text = error.message;
  return text.startsWith("TRYAGAIN") || text.startsWith("ASK ") || text.startsWith("MOVED ") || text.includes("non local key");
}
