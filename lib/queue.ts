import type { Bus, QueueSink, Unsubscribe } from "./bus.js";
import { defaultBus } from "./default-bus.js";
import { InvalidArgumentError, QueueClosedError, QueueEmptyError, QueueOverflowError, QueueTimeoutError } from "./errors.js";
import { Fifo } from "./fifo.js";
import { type Identifier, parseIdentifier } from "./identifier.js";
import type { EventMap, Untyped } from "./event-map.js";
import { checkDuration, type LongTimer, setLongTimeout } from "./long-timer.js";
import type { Message } from "./message.js";
import type { MessageFor, PatternOf } from "./typed-identifiers.js";
import { untilClosed } from "./until-closed.js";

/**
 * What a full bounded queue does with one more message. Either way the loss is reported on the bus's
 * `error` event as a QueueOverflowError carrying the dropped message.
 * - `"reject-new"` (default): the new message is not queued (and not counted by `twitter`).
 * - `"drop-oldest"`: the oldest queued message makes room for it.
 */
export type OverflowPolicy = "reject-new" | "drop-oldest";

/** Options of a queue. */
export interface QueueOptions<Events extends EventMap | Untyped = Untyped> {
  /** Queues with the same filter and `shared: true` share one buffer: each message goes to one of them. */
  shared?: boolean;
  /** Bound on queued messages; 0 (default) means unbounded. */
  maxsize?: number;
  overflow?: OverflowPolicy;
  /** The bus to listen on (default: `defaultBus`); a typed bus types the queue's messages. */
  bus?: Bus<Events>;
}

/** Options of `get()`. */
export interface GetOptions {
  /** Milliseconds to wait before rejecting with QueueTimeoutError; none (or `Infinity`) waits until a message or close. */
  timeout?: number;
  /** Aborting rejects the pending `get` with the signal's reason. */
  signal?: AbortSignal;
}

interface Waiter {
  readonly owner: object;
  /** Its get timed out or was aborted: skipped, and dropped when the list is next compacted. */
  abandoned: boolean;
  resolve(message: Message): void;
  reject(error: Error): void;
}

/** The buffer behind one queue, or behind every shared queue with the same filter. */
class QueueStore implements QueueSink {
  readonly buffer = new Fifo<Message>();
  readonly waiters = new Fifo<Waiter>();
  handles = 0;
  closed = false;
  // Abandoned waiters still in `waiters`.
  #abandoned = 0;
  readonly #detach: Unsubscribe;

  constructor(
    readonly bus: Bus,
    readonly filter: Identifier,
    readonly maxsize: number,
    readonly overflow: OverflowPolicy,
    private readonly onClose: () => void,
  ) {
    this.#detach = bus.attachQueue(filter, this);
  }

  offer(message: Message): boolean {
    if (this.closed) return false;
    const waiter = this.nextWaiter();
    if (waiter !== undefined) {
      waiter.resolve(message);
      return true;
    }
    if (this.maxsize > 0 && this.buffer.length >= this.maxsize) {
      if (this.overflow === "reject-new") {
        this.bus.report(new QueueOverflowError(this.filter.id, this.maxsize, message));
        return false;
      }
      const oldest = this.buffer.shift() as Message;
      this.bus.report(new QueueOverflowError(this.filter.id, this.maxsize, oldest));
    }
    this.buffer.push(message);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#detach();
    this.onClose();
    for (let waiter = this.nextWaiter(); waiter !== undefined; waiter = this.nextWaiter()) {
      waiter.reject(new QueueClosedError(this.filter.id));
    }
  }

  /** Removes and returns the oldest waiter still waiting. */
  nextWaiter(): Waiter | undefined {
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) {
      if (!waiter.abandoned) return waiter;
      this.#abandoned--;
    }
    return undefined;
  }

  /**
   * Marks a waiter whose get timed out or was aborted. Splicing it out cost O(waiters) each, so many gets
   * timing out at once blocked the process for minutes (O(n²)); abandoned waiters are dropped in one pass
   * once they are most of the list.
   */
  abandon(waiter: Waiter): void {
    waiter.abandoned = true;
    this.#abandoned++;
    if (this.#abandoned > 1024 && this.#abandoned * 2 > this.waiters.length) this.keepWaiters(() => true);
  }

  /** Keeps the waiters still waiting for which `keep` holds, in order; returns the others. */
  keepWaiters(keep: (waiter: Waiter) => boolean): Waiter[] {
    const others: Waiter[] = [];
    for (const waiter of this.waiters.drain()) {
      if (waiter.abandoned) continue;
      if (keep(waiter)) this.waiters.push(waiter);
      else others.push(waiter);
    }
    this.#abandoned = 0;
    return others;
  }
}

/** What a queue with filter `P` on a bus typed by `Events` yields (`Message` on an untyped bus). */
export type QueuedMessage<Events, P extends string> = Extract<MessageFor<Events, P>, Message>;

const sharedStores = new WeakMap<Bus, Map<string, QueueStore>>();

/**
 * A pull queue fed by every message matching its filter (berryMQ's `Queue`). Standalone queues each get
 * a copy; shared queues with the same filter compete for messages. FIFO; async-iterable until closed.
 * @example
 * const queue = new Queue("task:*");
 * twitter("task:run", 1);
 * const message = await queue.get({ timeout: 1000 }); // message.args = [1]
 * queue.close();
 */
export class Queue<Events extends EventMap | Untyped = Untyped, P extends PatternOf<Events> = PatternOf<Events>>
  implements AsyncIterable<QueuedMessage<Events, P>>
{
  /** Canonical filter, e.g. `"task:*"`. */
  readonly filter: string;
  readonly shared: boolean;
  readonly maxsize: number;
  readonly #store: QueueStore;
  #closed = false;

  constructor(filter: P, options: QueueOptions<Events> = {}) {
    const parsed = parseIdentifier(filter);
    const bus: Bus = options.bus ?? defaultBus;
    const maxsize = options.maxsize ?? 0;
    if (!Number.isInteger(maxsize) || maxsize < 0) {
      throw new InvalidArgumentError("maxsize", maxsize, "an integer >= 0 (0 = unbounded)");
    }
    const overflow = options.overflow ?? "reject-new";
    if (overflow !== "reject-new" && overflow !== "drop-oldest") {
      throw new InvalidArgumentError("overflow", overflow, '"reject-new" or "drop-oldest"');
    }
    this.filter = parsed.id;
    this.shared = options.shared === true;
    this.maxsize = maxsize;
    this.#store = this.shared ? sharedStore(bus, parsed, maxsize, overflow) : new QueueStore(bus, parsed, maxsize, overflow, () => {});
    this.#store.handles++;
  }

  /** Number of queued messages (shared queues: in the shared buffer). */
  qsize(): number {
    return this.#store.buffer.length;
  }

  /** Whether no message is queued. */
  empty(): boolean {
    return this.#store.buffer.length === 0;
  }

  /** Whether a bounded queue holds `maxsize` messages. */
  full(): boolean {
    return this.maxsize > 0 && this.#store.buffer.length >= this.maxsize;
  }

  /** Whether this queue was closed (by `close()` or by its bus closing). */
  get closed(): boolean {
    return this.#closed || this.#store.closed;
  }

  /**
   * The oldest message; waits for one when the queue is empty.
   * @throws QueueTimeoutError after `timeout` ms, QueueClosedError when the queue is closed meanwhile.
   */
  get(options: GetOptions = {}): Promise<QueuedMessage<Events, P>> {
    const { timeout, signal } = options;
    if (timeout !== undefined) {
      try {
        checkDuration("timeout", timeout);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.closed) return Promise.reject(new QueueClosedError(this.filter));
    const queued = this.#store.buffer.shift();
    if (queued !== undefined) return Promise.resolve(queued as QueuedMessage<Events, P>);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<QueuedMessage<Events, P>>((resolve, reject) => {
      let timer: LongTimer | undefined;
      const settle = (): void => {
        timer?.clear();
        signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = {
        owner: this,
        abandoned: false,
        resolve: (message) => {
          settle();
          resolve(message as QueuedMessage<Events, P>);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      const abandon = (error: unknown): void => {
        this.#store.abandon(waiter);
        settle();
        reject(error);
      };
      const onAbort = (): void => abandon(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      // A user's duration: Infinity waits forever, and more than 2^31-1 ms must not fire at once.
      if (timeout !== undefined) timer = setLongTimeout(() => abandon(new QueueTimeoutError(this.filter, timeout)), timeout);
      this.#store.waiters.push(waiter);
    });
  }

  /**
   * The oldest message, at once.
   * @throws QueueEmptyError when there is none, QueueClosedError when closed.
   */
  getNowait(): QueuedMessage<Events, P> {
    if (this.closed) throw new QueueClosedError(this.filter);
    const queued = this.#store.buffer.shift();
    if (queued === undefined) throw new QueueEmptyError(this.filter);
    return queued as QueuedMessage<Events, P>;
  }

  /**
   * Stops this queue: its pending `get`s reject with QueueClosedError and it receives nothing more.
   * @returns the messages still queued, which no one else will receive (none for a shared queue that
   * other open handles still use: they keep them).
   */
  close(): QueuedMessage<Events, P>[] {
    if (this.#closed) return [];
    this.#closed = true;
    const store = this.#store;
    store.handles--;
    for (const waiter of store.keepWaiters((waiter) => waiter.owner !== this)) waiter.reject(new QueueClosedError(this.filter));
    if (store.handles > 0) return [];
    store.close();
    return store.buffer.drain() as QueuedMessage<Events, P>[];
  }

  /** Yields messages as they come, until the queue is closed. */
  [Symbol.asyncIterator](): AsyncIterator<QueuedMessage<Events, P>> {
    return untilClosed(() => this.get()) as AsyncIterator<QueuedMessage<Events, P>>;
  }
}

function sharedStore(bus: Bus, filter: Identifier, maxsize: number, overflow: OverflowPolicy): QueueStore {
  let stores = sharedStores.get(bus);
  if (stores === undefined) {
    stores = new Map();
    sharedStores.set(bus, stores);
  }
  const existing = stores.get(filter.id);
  if (existing !== undefined && !existing.closed) {
    if (existing.maxsize !== maxsize || existing.overflow !== overflow) {
      throw new InvalidArgumentError(
        "shared queue options",
        { maxsize, overflow },
        `the options of the open shared queue "${filter.id}" ({ maxsize: ${existing.maxsize}, overflow: "${existing.overflow}" })`,
      );
    }
    return existing;
  }
  const created = new QueueStore(bus, filter, maxsize, overflow, () => {
    if (stores.get(filter.id) === created) stores.delete(filter.id);
  });
  stores.set(filter.id, created);
  return created;
}
