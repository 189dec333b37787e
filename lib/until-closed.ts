import { QueueClosedError } from "./errors.js";
import type { Message } from "./message.js";

/**
 * Async iteration over any queue-like `get`: yields each message until a get rejects with QueueClosedError
 * (a get's other error is thrown, and ends the iteration). `return()` (a `break` out of `for await`) ends it
 * at once: a `next()` still waiting resolves done, and its get is aborted through the signal `get` is
 * given, so the next message stays queued. A generator's `return()` waited behind that `next()` until a
 * message came, and the message went to the `next()` its caller had given up on (raced against a timeout).
 */
export function untilClosed(get: (signal: AbortSignal) => Promise<Message>): AsyncIterableIterator<Message> {
  let done = false;
  // Aborts the gets still waiting when the iteration is ended.
  const stop = new AbortController();
  const end = (): IteratorResult<Message, undefined> => {
    done = true;
    stop.abort();
    return { value: undefined, done: true };
  };
  const iterator: AsyncIterableIterator<Message> = {
    async next(): Promise<IteratorResult<Message, undefined>> {
      if (done) return { value: undefined, done: true };
      try {
        // A message its get took is yielded, even when return() came meanwhile: it is no longer queued.
        return { value: await get(stop.signal), done: false };
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
