import { QueueClosedError } from "./errors.js";
import type { Message } from "./message.js";

/**
 * How an iteration of {@link untilClosed} tells the gets still waiting that it ended: `watch` for a queue of
 * this process (a field, no EventTarget listener: adding and removing an AbortSignal's listener for each
 * get cost ~0.2 µs a message, a fifth of a `for await` taking one message at a time), `signal` for a get
 * that takes an AbortSignal (made at the first ask).
 */
export class IterationStop {
  #stopped = false;
  #controller: AbortController | undefined;
  readonly #waiting = new Set<() => void>();

  /** Whether the iteration ended. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Aborted when the iteration ends. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#stopped) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  /**
   * Calls `callback` when the iteration ends (never if it ended already: ask `stopped` first).
   * @returns a function that stops watching.
   */
  watch(callback: () => void): () => void {
    this.#waiting.add(callback);
    return () => void this.#waiting.delete(callback);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#controller?.abort();
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const callback of waiting) callback();
  }
}

/**
 * Async iteration over any queue-like `get`: yields each message until a get rejects with QueueClosedError
 * (a get's other error is thrown, and ends the iteration). `return()` (a `break` out of `for await`) ends it
 * at once: a `next()` still waiting resolves done, and its get is ended through the `stop` it was given, so
 * the next message stays queued. A generator's `return()` waited behind that `next()` until a message came,
 * and the message went to the `next()` its caller had given up on (raced against a timeout).
 */
export function untilClosed(get: (stop: IterationStop) => Promise<Message>): AsyncIterableIterator<Message> {
  let done = false;
  const stop = new IterationStop();
  const end = (): IteratorResult<Message, undefined> => {
    done = true;
    stop.stop();
    return { value: undefined, done: true };
  };
  const iterator: AsyncIterableIterator<Message> = {
    async next(): Promise<IteratorResult<Message, undefined>> {
      if (done) return { value: undefined, done: true };
      try {
        // A message its get took is yielded, even when return() came meanwhile: it is no longer queued.
        return { value: await get(stop), done: false };
      } catch (error) {
        if (done || error instanceof QueueClosedError) return end();
        end();
        throw error;
      }
    },
    async return(): Promise<IteratorResult<Message, undefined>> {
      return end();
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
