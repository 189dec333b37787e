/** Most messages per script call (a batch of sends or finishes, or of messages taken at once). */
export const MAX_BATCH = 100;
/**
 * Most payload bytes per batch, unless one item alone is bigger: then it goes out alone. The smallest
 * proto-max-bulk-len a Redis can have: a payload Redis refuses fails its own call only, not its neighbours.
 */
const MAX_BATCH_BYTES = 1024 * 1024;
/**
 * Batches of one kind on their way at once: with two, Redis runs one while this process answers the
 * other's callers (measured faster than one at concurrency 8, the same at 50).
 */
const IN_FLIGHT = 2;

// Numbers every call added to any batcher, in the order they were made: a call that carries another
// kind's batch runs the two in the order their first calls were made (see Claimed.first).
let added = 0;

/**
 * Gathers the calls made while earlier ones are on their way into the next script call: a call made
 * while fewer than {@link IN_FLIGHT} are on their way goes out at once (with the others of the same tick),
 * and under load N calls cost one round trip and one script run instead of N. Each item's result comes
 * back at its index.
 */
export class Batcher<Item, Result> {
  readonly #run: (items: readonly Item[], first: number) => Promise<Result[]>;
  readonly #size: (item: Item) => number;
  readonly #queue: Entry<Item, Result>[] = [];
  #running = 0;
  #scheduled = false;
  readonly #schedule: (flush: () => void) => void;
  readonly #idle: (() => void)[] = [];
  /** The batches on their way. */
  readonly #sent = new Set<readonly Entry<Item, Result>[]>();

  /**
   * With `late`, a batch goes out once the tick's microtasks are done (process.nextTick, queued from a
   * promise callback, runs when the microtask queue is empty), not at the next microtask: calls made a
   * few awaits later in the same tick still join it, or another kind's call made meanwhile can carry it
   * ({@link claim}). No timer: it goes before any I/O is looked at.
   */
  constructor(run: (items: readonly Item[], first: number) => Promise<Result[]>, size: (item: Item) => number, late = false) {
    this.#run = run;
    this.#size = size;
    this.#schedule = late ? (flush) => process.nextTick(flush) : queueMicrotask;
  }

  /** Calls not answered yet: queued, or on their way. */
  get pending(): number {
    let count = this.#queue.length;
    for (const batch of this.#sent) count += batch.length;
    return count;
  }

  add(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject, seq: ++added });
      if (this.#scheduled || this.#running >= IN_FLIGHT) return;
      this.#scheduled = true;
      // Calls made in the same tick go out together.
      this.#schedule(() => {
        this.#scheduled = false;
        this.#flush();
      });
    });
  }

  /** Rejects every call not answered yet (queued or on its way) with `error`. */
  fail(error: unknown): void {
    for (const entry of this.#queue.splice(0)) entry.reject(error);
    for (const batch of this.#sent) for (const entry of batch) entry.reject(error);
  }

  /** Resolves once every call added so far is answered. */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** The payload bytes of `items`, as batches count them. */
  bytes(items: readonly Item[]): number {
    let bytes = 0;
    for (const item of items) bytes += this.#size(item);
    return bytes;
  }

  /**
   * Takes the calls queued now (at most a batch, within MAX_BATCH_BYTES less `used()`, the bytes of the call
   * they are to go with), for another kind's call to carry: one round trip instead of two. They count as
   * on their way (idle(), fail()) until `settle` is given that call's results for them. Only while fewer
   * than IN_FLIGHT batches are on their way (when this batcher would send them now itself): no more
   * calls of a kind are on their way than before (a finish's take is remembered for 4 at most). With
   * `before` (a call's number, see {@link Claimed.first}), only the calls made before it.
   */
  claim(used: () => number, before = Number.POSITIVE_INFINITY): Claimed<Item, Result> | undefined {
    if (this.#queue.length === 0 || this.#running >= IN_FLIGHT) return undefined;
    let count = this.#fits(MAX_BATCH_BYTES - used(), false);
    // With `before`, only calls made before that one (see Claimed.first).
    while (count > 0 && (this.#queue[count - 1] as Entry<Item, Result>).seq >= before) count--;
    if (count === 0) return undefined;
    const batch = this.#queue.splice(0, count);
    this.#sent.add(batch);
    this.#running++;
    return {
      items: batch.map((entry) => entry.item),
      first: (batch[0] as Entry<Item, Result>).seq,
      settle: (running) => this.#settle(batch, running),
    };
  }

  // How many of the queued items a batch takes: at most MAX_BATCH, within `room` bytes; a first item
  // bigger than that goes alone when `alone` (it is refused alone), else not at all.
  #fits(room: number, alone: boolean): number {
    let bytes = 0;
    let count = 0;
    for (const { item } of this.#queue) {
      bytes += this.#size(item);
      if (count >= MAX_BATCH || ((count > 0 || !alone) && bytes > room)) break;
      count++;
    }
    return count;
  }

  #flush(): void {
    while (this.#running < IN_FLIGHT && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#fits(MAX_BATCH_BYTES, true));
      this.#sent.add(batch);
      this.#running++;
      let running: Promise<Result[]>;
      try {
        running = this.#run(
          batch.map((entry) => entry.item),
          (batch[0] as Entry<Item, Result>).seq,
        );
      } catch (error) {
        running = Promise.reject(error);
      }
      this.#settle(batch, running);
    }
  }

  // Answers a batch on its way with its call's results, then sends what queued meanwhile.
  #settle(batch: readonly Entry<Item, Result>[], running: Promise<Result[]>): void {
    running
      .then(
        (results) => {
          for (const [i, entry] of batch.entries()) entry.resolve(results[i] as Result);
        },
        (error: unknown) => {
          for (const entry of batch) entry.reject(error);
        },
      )
      .finally(() => {
        this.#sent.delete(batch);
        this.#running--;
        this.#flush();
        if (this.#running === 0 && this.#queue.length === 0) for (const resolve of this.#idle.splice(0)) resolve();
      });
  }
}

/** Calls taken by {@link Batcher.claim} to go with another call. */
export interface Claimed<Item, Result> {
  readonly items: readonly Item[];
  /**
   * When the first of them was made, against the carrier's `first` (run's second argument): the batch whose
   * first call was made first runs first, as it would have in a call of its own.
   */
  readonly first: number;
  /** Answers the calls with `running`'s results (one per item, in order), or its error. */
  settle(running: Promise<Result[]>): void;
}

/** A call waiting in a {@link Batcher}. */
interface Entry<Item, Result> {
  item: Item;
  /** When it was added, among every batcher's calls. */
  seq: number;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}
