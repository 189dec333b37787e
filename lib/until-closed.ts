import { QueueClosedError } from "./errors.js";
import type { Message } from "./message.js";

/** Async iteration over any queue-like `get`: yields each message until a get rejects with QueueClosedError. */
export async function* untilClosed(get: () => Promise<Message>): AsyncGenerator<Message, void, undefined> {
  for (;;) {
    try {
      yield await get();
    } catch (error) {
      if (error instanceof QueueClosedError) return;
      throw error;
    }
  }
}
