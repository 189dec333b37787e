import { watchAbort } from "./abort-watch.js";
import type { Bus, QueueSink, Unsubscribe } from "./bus.js";
import { checkOptions } from "./bus-option.js";
import { defaultBus } from "./default-bus.js";
import { InvalidArgumentError, QueueClosedError, QueueEmptyError, QueueOverflowError, QueueTimeoutError } from "./errors.js";
import { Fifo } from "./fifo.js";
import { type Identifier, parseIdentifier } from "./identifier.js";
import type { EventMap, Untyped } from "./event-map.js";
import { checkDuration, type LongTimer, setLongTimeout } from "./long-timer.js";
import type { Message } from "./message.js";
import { type BudgetLedger, budgetLedger, QueueBudget } from "./queue-budget.js";
import type { MessageFor, PatternOf } from "./typed-identifiers.js";
import { type IterationStop, untilClosed } from "./until-closed.js";

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
  /**
   * Bound on the queued messages' size, each counted as the length of its args and kwargs in JSON (0
   * for one JSON cannot carry); 0 (default) means unbounded. Past it, `overflow` applies as for
   * `maxsize`; a message larger than the bound alone is never queued.
   */
  maxBytes?: number;
  /**
   * A bound this queue shares with the other queues on the same budget (see QueueBudget): past it,
   * `overflow` applies as for `maxBytes`; under `"drop-oldest"` only this queue's messages make room.
   */
  budget?: QueueBudget;
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
  /** Its get timed out, was aborted or its queue closed: skipped, and dropped when the list is next compacted. */
  abandoned: boolean;
  resolve(message: Message): void;
  reject(error: Error): void;
}

/** What bounds a queue's buffer. */
interface Bounds {
  readonly maxsize: number;
  readonly maxBytes: number;
  readonly overflow: OverflowPolicy;
  readonly budget: QueueBudget | undefined;
}

// Each message's size is measured once, however many queues hold it.
const sizes = new WeakMap<Message, number>();

/** The length of a message's args and kwargs in JSON, as a queue counts it; 0 for one JSON cannot carry. */
function sizeOf(message: Message): number {
  let size = sizes.get(message);
  if (size === undefined) {
    try {
      size = JSON.stringify(message.args).length + JSON.stringify(message.kwargs).length;
    } catch {
      size = 0;
    }
    sizes.set(message, size);
  }
  return size;
}

/** The buffer behind one queue, or behind every shared queue with the same filter. */
class QueueStore implements QueueSink {
  readonly buffer = new Fifo<Message>();
  /** Summed size of the buffered messages (counted only under a maxBytes bound or a budget). */
  bytes = 0;
  readonly waiters = new Fifo<Waiter>();
  handles = 0;
  closed = false;
  // Abandoned waiters still in `waiters`.
  #abandoned = 0;

  readonly #detach: Unsubscribe;
  // Whether any bound applies (an unbounded buffer takes each message as it comes), and whether sizes count.
  readonly #bounded: boolean;
  readonly #sized: boolean;
  readonly #ledger: BudgetLedger | undefined;

  constructor(
    readonly bus: Bus,
    readonly filter: Identifier,
    readonly bounds: Bounds,
    private readonly onClose: () => void,
  ) {
    this.#sized = bounds.maxBytes > 0 || bounds.budget !== undefined;
    this.#bounded = this.#sized || bounds.maxsize > 0;
    this.#ledger = bounds.budget === undefined ? undefined : budgetLedger(bounds.budget);
    this.#detach = bus.attachQueue(filter, this);
  }

  offer(message: Message): boolean {
    if (this.closed) return false;
    const waiter = this.nextWaiter();
    if (waiter !== undefined) {
      waiter.resolve(message);
      return true;
    }
    if (!this.#bounded) {
      this.buffer.push(message);
      return true;
    }
    return this.#offerBounded(message);
  }

  #offerBounded(message: Message): boolean {
    const { maxsize, maxBytes, overflow } = this.bounds;
    const ledger = this.#ledger;
    const size = this.#sized ? sizeOf(message) : 0;
    if (!this.#fits(size)) {
      // Nothing is dropped for a message that would not fit even in this buffer emptied.
      const never =
        (maxBytes > 0 && size > maxBytes) || (ledger !== undefined && ledger.held - this.bytes + size > ledger.maxBytes);
      if (overflow === "reject-new" || never) {
        this.bus.report(new QueueOverflowError(this.filter.id, maxsize, message, this.#bound(size)));
        return false;
      }
      // Reported once the new message is in: an `error` listener runs inside report(), and one that closed
      // this queue (or filled the budget from another queue) mid-loop left the budget counting a closed
      // buffer's message for good, or emptied this buffer under the loop (twitter() threw).
      const dropped: QueueOverflowError[] = [];
      while (!this.#fits(size)) {
        const bound = this.#bound(size);
        const oldest = this.take();
        if (oldest === undefined) break;
        dropped.push(new QueueOverflowError(this.filter.id, maxsize, oldest, bound));
      }
      this.buffer.push(message);
      this.#count(size);
      for (const error of dropped) this.bus.report(error);
      return true;
    }
    this.buffer.push(message);
    this.#count(size);
    return true;
  }

  #fits(size: number): boolean {
    const { maxsize, maxBytes } = this.bounds;
    const ledger = this.#ledger;
    return (
      (maxsize === 0 || this.buffer.length < maxsize) &&
      (maxBytes === 0 || this.bytes + size <= maxBytes) &&
      (ledger === undefined || ledger.held + size <= ledger.maxBytes)
    );
  }

  // Counts `size` more characters held here (negative: given back), on the budget too.
  #count(size: number): void {
    this.bytes += size;
    if (this.#ledger !== undefined) this.#ledger.held += size;
  }

  /** Removes and returns the oldest queued message. */
  take(): Message | undefined {
    const message = this.buffer.shift();
    if (message !== undefined && this.#sized) this.#count(-sizeOf(message));
    return message;
  }

  /** Removes every queued message, oldest first. */
  takeAll(): Message[] {
    this.#count(-this.bytes);
    return this.buffer.drain();
  }

  // Which bound a message of `size` meets, as the overflow error names it.
  #bound(size: number): string {
    const { maxsize, maxBytes, budget } = this.bounds;
    if (maxsize > 0 && this.buffer.length >= maxsize) return `maxsize ${maxsize}`;
    if (budget === undefined || (maxBytes > 0 && this.bytes + size > maxBytes)) {
      return `maxBytes ${maxBytes}, the message ${size}`;
    }
    return `${budget.name} ${budget.maxBytes} for all the queues sharing it, which hold ${budget.held}; the message ${size}`;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // What it still buffers is no one's to take now (gets refuse a closed queue): the budget gets it back.
    this.#count(-this.bytes);
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
   * Marks a waiter whose get timed out, was aborted, or whose shared queue handle closed. Splicing it out
   * cost O(waiters) each, so many gets timing out at once blocked the process for minutes (O(n²));
   * abandoned waiters are dropped in one pass once they are most of the list.
   */
  abandon(waiter: Waiter): void {
    waiter.abandoned = true;
    this.#abandoned++;
    if (this.#abandoned > 1024 && this.#abandoned * 2 > this.waiters.length) this.#compact();
  }

  // Drops the abandoned waiters, keeping the others in order.
  #compact(): void {
    for (const waiter of this.waiters.drain()) if (!waiter.abandoned) this.waiters.push(waiter);
    this.#abandoned = 0;
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
  readonly maxBytes: number;
  /** The bound this queue shares with the other queues on it, if any. */
  readonly budget: QueueBudget | undefined;
  readonly #store: QueueStore;
  #closed = false;
  // A shared handle's gets still waiting, which its close() ends while the other handles' wait on. Found by
  // scanning every waiter of the shared buffer, closing n handles each with a get waiting took O(n²): 4 s
  // for 20,000 (a worker pool's handles closed one by one), the process blocked meanwhile.
  readonly #waiting: Set<Waiter> | undefined;

  constructor(filter: P, options: QueueOptions<Events> = {}) {
    const parsed = parseIdentifier(filter);
    checkOptions("Queue options", options, "an object");
    const bus: Bus = options.bus ?? defaultBus;
    const maxsize = options.maxsize ?? 0;
    if (!Number.isInteger(maxsize) || maxsize < 0) {
      throw new InvalidArgumentError("maxsize", maxsize, "an integer >= 0 (0 = unbounded)");
    }
    const maxBytes = options.maxBytes ?? 0;
    if (!Number.isInteger(maxBytes) || maxBytes < 0) {
      throw new InvalidArgumentError("maxBytes", maxBytes, "an integer >= 0 (0 = unbounded)");
    }
    const budget = options.budget;
    if (budget !== undefined && !(budget instanceof QueueBudget)) {
      throw new InvalidArgumentError("budget", budget, "a QueueBudget");
    }
    const overflow = options.overflow ?? "reject-new";
    if (overflow !== "reject-new" && overflow !== "drop-oldest") {
      throw new InvalidArgumentError("overflow", overflow, '"reject-new" or "drop-oldest"');
    }
    this.filter = parsed.id;
    this.shared = options.shared === true;
    this.maxsize = maxsize;
    this.maxBytes = maxBytes;
    this.budget = budget;
    const bounds: Bounds = { maxsize, maxBytes, overflow, budget };
    this.#store = this.shared ? sharedStore(bus, parsed, bounds) : new QueueStore(bus, parsed, bounds, () => {});
    // An unshared handle's waiters are all of its buffer's: closing it ends them all (QueueStore.close).
    this.#waiting = this.shared ? new Set() : undefined;
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
    try {
      if (timeout !== undefined) checkDuration("timeout", timeout);
      // Anything else (`{ aborted: false }`) threw a TypeError from inside the wait, naming nothing.
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new InvalidArgumentError("signal", signal, "an AbortSignal");
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closed) return Promise.reject(new QueueClosedError(this.filter));
    // Before taking: a worker stopped by its signal went on taking (and handling) every message still queued.
    if (signal?.aborted) return Promise.reject(signal.reason);
    const queued = this.#store.take();
    if (queued !== undefined) return Promise.resolve(queued as QueuedMessage<Events, P>);
    return this.#wait(timeout, signal, undefined);
  }

  // A get of this queue's iteration (see untilClosed): ended by its `stop` rather than an AbortSignal.
  #getUntil(stop: IterationStop): Promise<QueuedMessage<Events, P>> {
    if (this.closed) return Promise.reject(new QueueClosedError(this.filter));
    if (stop.stopped) return Promise.reject(new QueueClosedError(this.filter));
    const queued = this.#store.take();
    if (queued !== undefined) return Promise.resolve(queued as QueuedMessage<Events, P>);
    return this.#wait(undefined, undefined, stop);
  }

  // Waits for the next message: until `timeout`, `signal` or `stop` end the wait.
  #wait(
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    stop: IterationStop | undefined,
  ): Promise<QueuedMessage<Events, P>> {
    return new Promise<QueuedMessage<Events, P>>((resolve, reject) => {
      let timer: LongTimer | undefined;
      let unwatch: (() => void) | undefined;
      const settle = (): void => {
        timer?.clear();
        unwatch?.();
        this.#waiting?.delete(waiter);
      };
      const waiter: Waiter = {
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
      // One listener on the signal for every get sharing it (see abort-watch.ts).
      if (signal !== undefined) unwatch = watchAbort(signal, () => abandon(signal.reason));
      // The iteration ended (its next() resolves done whatever this rejects with).
      else if (stop !== undefined) unwatch = stop.watch(() => abandon(new QueueClosedError(this.filter)));
      // A user's duration: Infinity waits forever, and more than 2^31-1 ms must not fire at once.
      if (timeout !== undefined) timer = setLongTimeout(() => abandon(new QueueTimeoutError(this.filter, timeout)), timeout);
      this.#store.waiters.push(waiter);
      this.#waiting?.add(waiter);
    });
  }

  /**
   * The oldest message, at once.
   * @throws QueueEmptyError when there is none, QueueClosedError when closed.
   */
  getNowait(): QueuedMessage<Events, P> {
    if (this.closed) throw new QueueClosedError(this.filter);
    const queued = this.#store.take();
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
    if (this.#waiting !== undefined) {
      const mine = [...this.#waiting]; // each one's settle() deletes it from the set
      for (const waiter of mine) {
        store.abandon(waiter);
        waiter.reject(new QueueClosedError(this.filter));
      }
    }
    if (store.handles > 0) return [];
    store.close();
    return store.takeAll() as QueuedMessage<Events, P>[];
  }

  /** Yields messages as they come, until the queue is closed. */
  [Symbol.asyncIterator](): AsyncIterator<QueuedMessage<Events, P>> {
    return untilClosed((stop) => this.#getUntil(stop)) as AsyncIterator<QueuedMessage<Events, P>>;
  }
}

function sharedStore(bus: Bus, filter: Identifier, bounds: Bounds): QueueStore {
  const stores = sharedStoresOf(bus, bounds.budget);
  const existing = stores.get(filter.id);
  if (existing !== undefined && !existing.closed) {
    const { maxsize, maxBytes, overflow, budget } = existing.bounds;
    if (maxsize !== bounds.maxsize || maxBytes !== bounds.maxBytes || overflow !== bounds.overflow || budget !== bounds.budget) {
      throw new InvalidArgumentError(
        "shared queue options",
        shown(bounds),
        `the options of the open shared queue "${filter.id}" (${optionsText(existing.bounds)}, the same budget object)`,
      );
    }
    return existing;
  }
  const created = new QueueStore(bus, filter, bounds, () => {
    if (stores.get(filter.id) === created) stores.delete(filter.id);
  });
  stores.set(filter.id, created);
  return created;
}

// The shared buffers of a bus, or of an isolated budget's queues on it, by filter.
const isolatedStores = new WeakMap<QueueBudget, WeakMap<Bus, Map<string, QueueStore>>>();

function sharedStoresOf(bus: Bus, budget: QueueBudget | undefined): Map<string, QueueStore> {
  let byBus = sharedStores;
  if (budget?.isolated === true) {
    byBus = isolatedStores.get(budget) ?? new WeakMap();
    isolatedStores.set(budget, byBus);
  }
  let stores = byBus.get(bus);
  if (stores === undefined) {
    stores = new Map();
    byBus.set(bus, stores);
  }
  return stores;
}

// Bounds as a shared-options error shows them (the budget by name).
function shown(bounds: Bounds): object {
  return { ...bounds, budget: bounds.budget?.name ?? null };
}

function optionsText({ maxsize, maxBytes, overflow, budget }: Bounds): string {
  return `{ maxsize: ${maxsize}, maxBytes: ${maxBytes}, overflow: "${overflow}", budget: ${budget === undefined ? "none" : JSON.stringify(budget.name)} }`;
}
