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

/**
 * Gathers the calls made while earlier ones are on their way into the next script call: a call made
 * while fewer than {@link IN_FLIGHT} are on their way goes out at once (with the others of the same tick),
 * and under load N calls cost one round trip and one script run instead of N. Each item's result comes
 * back at its index.
 */
export class Batcher<Item, Result> {
  readonly #run: (items: readonly Item[]) => Promise<Result[]>;
  readonly #size: (item: Item) => number;
  readonly #queue: Entry<Item, Result>[] = [];
  #running = 0;
  #scheduled = false;
  readonly #idle: (() => void)[] = [];
  /** The batches on their way. */
  readonly #sent = new Set<readonly Entry<Item, Result>[]>();

  constructor(run: (items: readonly Item[]) => Promise<Result[]>, size: (item: Item) => number) {
    this.#run = run;
    this.#size = size;
  }

  add(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#scheduled || this.#running >= IN_FLIGHT) return;
      this.#scheduled = true;
      // Calls made in the same tick go out together.
      queueMicrotask(() => {
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

  // How many of the queued items the next batch takes: at most MAX_BATCH, within MAX_BATCH_BYTES, at least one.
  #fits(): number {
    let bytes = 0;
    let count = 0;
    for (const { item } of this.#queue) {
      bytes += this.#size(item);
      if (count >= MAX_BATCH || (count > 0 && bytes > MAX_BATCH_BYTES)) break;
      count++;
    }
    return count;
  }

  #flush(): void {
    while (this.#running < IN_FLIGHT && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#fits());
      this.#sent.add(batch);
      this.#running++;
      let running: Promise<Result[]>;
      try {
        running = this.#run(batch.map((entry) => entry.item));
      } catch (error) {
        running = Promise.reject(error);
      }
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
}

/** A call waiting in a {@link Batcher}. */
interface Entry<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}
