import type { Bus } from "../lib/bus.js";
import { isThenable } from "../lib/concurrency-limiter.js";
import type { BerryError } from "../lib/errors.js";
import type { Message } from "../lib/message.js";
import { RecentIds } from "../lib/recent-ids.js";
import { type SchemaOutcome, schemasOf } from "../lib/schema-map.js";
import { SchemaValidationError } from "../lib/schema-error.js";

/** Most messages a link holds while asynchronous schemas check them (and those queued behind, in order). */
export const MAX_PENDING_CHECKS = 10_000;

/** How many refused messageIds a link remembers, so a resent refused message is dropped without a new report. */
export const REFUSED_MEMORY = 10_000;

/**
 * A link's receive path through the bus's schemas (see `useSchemas`): a message no schema covers, or
 * that passes, goes on to `then`; an invalid one goes to `onInvalid`, with the refused message, and never
 * reaches a follower.
 * Synchronous schemas answer at once. While an asynchronous check is pending, later messages wait behind
 * it, so arrival order is kept; at most {@link MAX_PENDING_CHECKS} wait, past that they are refused.
 * A message refused once (by its messageId) and sent again, as an acknowledging broker resends, is
 * dropped at once and not reported again.
 */
export class SchemaGate {
  #tail: Promise<unknown> | undefined;
  #pending = 0;
  readonly #refused = new RecentIds(REFUSED_MEMORY);

  constructor(
    private readonly bus: Bus,
    private readonly onInvalid: (error: BerryError, refused?: Message) => void,
  ) {}

  /** Passes a valid message to `then`: its result at once when no check is pending, else a promise of it. */
  pass<R>(message: Message, then: (valid: Message) => R): R | undefined | Promise<R | undefined> {
    const schemas = schemasOf(this.bus);
    if (schemas !== undefined && this.#refused.has(message.messageId)) return undefined;
    if (this.#tail === undefined) {
      if (schemas === undefined || !schemas.covers(message) || this.bus.hasSeen(message)) return then(message);
      const outcome = schemas.check(message);
      if (!isThenable(outcome)) return this.#settle(message, outcome, then);
      return this.#enqueue(outcome.then((settled) => this.#settle(message, settled, then)));
    }
    if (this.#pending >= MAX_PENDING_CHECKS) {
      this.onInvalid(
        new SchemaValidationError(message.id, message.messageId, [
          { message: `${MAX_PENDING_CHECKS} messages already wait for asynchronous schema checks` },
        ]),
        message,
      );
      return undefined;
    }
    return this.#enqueue(
      this.#tail.then(() => {
        const current = schemasOf(this.bus);
        if (current === undefined || !current.covers(message)) return then(message);
        const outcome = current.check(message);
        return isThenable(outcome)
          ? outcome.then((settled) => this.#settle(message, settled, then))
          : this.#settle(message, outcome, then);
      }),
    );
  }

  #settle<R>(message: Message, outcome: SchemaOutcome, then: (valid: Message) => R): R | undefined {
    if (outcome.issues === undefined) return then(outcome.message);
    this.#refused.add(message.messageId);
    this.onInvalid(new SchemaValidationError(message.id, message.messageId, outcome.issues), message);
    return undefined;
  }

  #enqueue<T>(work: Promise<T>): Promise<T | undefined> {
    this.#pending++;
    const done = work.then(
      (value) => value,
      (error: unknown) => {
        this.onInvalid(error as BerryError);
        return undefined;
      },
    );
    const tail = done.finally(() => {
      this.#pending--;
      if (this.#tail === tail) this.#tail = undefined;
    });
    this.#tail = tail;
    return done;
  }
}
