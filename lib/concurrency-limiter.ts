import { InvalidArgumentError } from "./errors.js";
import { Fifo } from "./fifo.js";

/**
 * Bounds how many followers run at once (berryMQ's `set_multiplicity`). A follower holds its slot until
 * the promise it returned settles; a call made while every slot is taken waits, first in first out.
 */
export class ConcurrencyLimiter {
  #limit: number;
  #running = 0;
  // Set while #pump's loop runs: a task that ends inside it only frees its slot, and the loop starts the
  // next. Pumping from each release nested one call per waiting task (~2,600 overflowed the stack).
  #pumping = false;
  readonly #waiting = new Fifo<() => void>();

  constructor(limit: number) {
    this.#limit = checkLimit(limit);
  }

  get limit(): number {
    return this.#limit;
  }

  /** Changes the bound; raising it starts waiting calls at once. */
  set limit(limit: number) {
    this.#limit = checkLimit(limit);
    this.#pump();
  }

  /** Calls now waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Followers running now. */
  get running(): number {
    return this.#running;
  }

  /** Runs `task` now if a slot is free (returning its result), or later (returning a promise of it). */
  run(task: () => unknown): unknown {
    if (this.#running < this.#limit) return this.#start(task);
    return new Promise<unknown>((resolve, reject) => {
      this.#waiting.push(() => {
        try {
          resolve(this.#start(task));
        } catch (error) {
          // Its caller awaits the promise: the error is theirs, and the tasks after it still start.
          reject(error);
        }
      });
    });
  }

  #start(task: () => unknown): unknown {
    this.#running++;
    let result: unknown;
    try {
      result = task();
    } catch (error) {
      this.#release();
      throw error;
    }
    if (isThenable(result)) {
      return Promise.resolve(result).finally(() => this.#release());
    }
    this.#release();
    return result;
  }

  #release(): void {
    this.#running--;
    this.#pump();
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#running < this.#limit) {
        const next = this.#waiting.shift();
        if (next === undefined) return;
        next();
      }
    } finally {
      this.#pumping = false;
    }
  }
}

function checkLimit(limit: number): number {
  if (!(Number.isInteger(limit) && limit >= 1) && limit !== Number.POSITIVE_INFINITY) {
    throw new InvalidArgumentError("multiplicity", limit, "an integer >= 1 or Infinity");
  }
  return limit;
}

/** Whether a value is promise-like. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
