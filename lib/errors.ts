import { emitEach, eventKey } from "./emit-each.js";

/** Base class of every error berrymq throws or reports; `code` is stable and machine-readable. */
export class BerryError extends Error {
  /** Stable identifier of the failure, e.g. `"INVALID_IDENTIFIER"`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    // Messages name what peers sent (user names, identities, frames): what a terminal acts on is escaped.
    super(printable(message), options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An identifier that is not a valid `"name:action"` string; `value` is what was given. */
export class InvalidIdentifierError extends BerryError {
  readonly value: unknown;

  constructor(value: unknown, reason: string) {
    super("INVALID_IDENTIFIER", `invalid identifier ${named(value)}: ${reason}`);
    this.value = value;
  }
}

/** A misused API argument (wrong type or range); `argument` names the parameter. */
export class InvalidArgumentError extends BerryError {
  readonly argument: string;
  readonly value: unknown;

  constructor(argument: string, value: unknown, expected: string) {
    super("INVALID_ARGUMENT", `invalid ${argument} ${named(value)}: expected ${expected}`);
    this.argument = argument;
    this.value = value;
  }
}

/** A follower threw or its promise rejected; `identifier` and `messageId` say which message it was handling. */
export class FollowerError extends BerryError {
  readonly follower: string;
  readonly identifier: string;
  readonly messageId: string;

  constructor(follower: string, identifier: string, messageId: string, cause: unknown) {
    super("FOLLOWER_FAILED", `follower ${follower} failed on message "${identifier}" (${messageId}): ${errorText(cause)}`, {
      cause,
    });
    this.follower = follower;
    this.identifier = identifier;
    this.messageId = messageId;
  }
}

/** An `error` listener threw while handling `reported`; issued as a process warning, never thrown to a sender. */
export class ErrorListenerError extends BerryError {
  readonly reported: BerryError;

  constructor(reported: BerryError, cause: unknown) {
    super(
      "ERROR_LISTENER_FAILED",
      `an 'error' listener threw while handling ${reported.code} (${reported.message}): ${errorText(cause)}`,
      {
        cause,
      },
    );
    this.reported = reported;
  }
}

/** What {@link emitError} reports on: an eventemitter3 emitter with an `error` event. */
export interface ErrorEmitter {
  listenerCount(event: "error"): number;
  removeListener(event: never, fn: never, context: undefined, once: true): unknown;
}

const ERROR_KEY = eventKey("error");

/**
 * Emits `error` on `emitter`'s `error` event; unheard, hands it to `unheard`. Each listener runs in its own
 * try: one that throws (a broken logger) becomes one process warning (`ErrorListenerError`), and neither
 * throws into the code that reported (a link's retry, a receive loop or a timer would stop there for good)
 * nor keeps the error from the listeners after it (a metrics counter, a supervisor).
 */
export function emitError(emitter: ErrorEmitter, error: BerryError, unheard: (error: BerryError) => void): void {
  if (emitter.listenerCount("error") === 0) unheard(error);
  else emitEach(emitter, ERROR_KEY, "error", error, error, errorListenerThrew);
}

function errorListenerThrew(thrown: unknown, error: BerryError): void {
  process.emitWarning(new ErrorListenerError(error, thrown));
}

/** A `follow` or `unfollow` listener of a bus threw; reported on the bus's `error` event, never thrown to the caller. */
export class ListenerError extends BerryError {
  readonly event: string;
  readonly pattern: string;

  constructor(event: string, pattern: string, cause: unknown) {
    super("LISTENER_FAILED", `a listener of '${event}' threw on pattern "${pattern}": ${errorText(cause)}`, { cause });
    this.event = event;
    this.pattern = pattern;
  }
}

/** An optional peer dependency is not installed: `packageName` is what to install for `subpath`. */
export class MissingDependencyError extends BerryError {
  readonly packageName: string;

  constructor(packageName: string, subpath: string, cause: unknown) {
    super(
      "MISSING_DEPENDENCY",
      `${subpath} needs the package "${packageName}", which is not installed: run \`npm install ${packageName}\``,
      { cause },
    );
    this.packageName = packageName;
  }
}

/** `getNowait()` on an empty queue. */
export class QueueEmptyError extends BerryError {
  constructor(filter: string) {
    super("QUEUE_EMPTY", `queue "${filter}" is empty`);
  }
}

/** `get({ timeout })` waited `timeout` ms and no message came. */
export class QueueTimeoutError extends BerryError {
  readonly timeout: number;

  constructor(filter: string, timeout: number) {
    super("QUEUE_TIMEOUT", `queue "${filter}": no message within ${timeout} ms`);
    this.timeout = timeout;
  }
}

/** The queue was closed: pending and later `get()` calls reject with this. */
export class QueueClosedError extends BerryError {
  constructor(filter: string) {
    super("QUEUE_CLOSED", `queue "${filter}" is closed`);
  }
}

/** A bounded queue was full; `dropped` is the message that did not stay in it. */
export class QueueOverflowError extends BerryError {
  readonly dropped: unknown;

  /** `bound` names the bound that was reached (default: `maxsize <maxsize>`). */
  constructor(filter: string, maxsize: number, dropped: { id: string; messageId: string }, bound = `maxsize ${maxsize}`) {
    super("QUEUE_OVERFLOW", `queue "${filter}" is full (${bound}): dropped message "${dropped.id}" (${dropped.messageId})`);
    this.dropped = dropped;
  }
}

/** Every multiplicity slot was taken and `maxWaiting` deliveries already waited for one: `dropped` was not delivered to `follower`. */
export class DeliveryOverflowError extends BerryError {
  readonly follower: string;
  readonly dropped: unknown;

  constructor(follower: string, maxWaiting: number, dropped: { id: string; messageId: string }) {
    super(
      "DELIVERY_OVERFLOW",
      `${maxWaiting} deliveries already wait for a multiplicity slot (the maxWaiting option): follower ${follower} dropped message "${dropped.id}" (${dropped.messageId})`,
    );
    this.follower = follower;
    this.dropped = dropped;
  }
}

/**
 * The error answer a request gets from a follower removed while its delivery waited for a multiplicity
 * slot: it never ran (the asker hears of it rather than waiting out its timeout).
 */
export class FollowerRemovedError extends BerryError {
  readonly follower: string;

  constructor(follower: string, message: { id: string; messageId: string }) {
    super(
      "FOLLOWER_REMOVED",
      `follower ${follower} was removed while message "${message.id}" (${message.messageId}) waited for a multiplicity slot: it did not run`,
    );
    this.follower = follower;
  }
}

/** The bus was closed; it accepts no more messages or followers. */
export class BusClosedError extends BerryError {
  /** `detail`: what met the closed bus, said after it. */
  constructor(busId: string, detail?: string) {
    super("BUS_CLOSED", detail === undefined ? `bus ${busId} is closed` : `bus ${busId} is closed: ${detail}`);
  }
}

/**
 * A link's far side is gone for good, as far as the requests it carried go: another process answers at its
 * address now, or nothing has listened there for longer than the link's ttl (a PeerLink: see its README
 * paragraph; a far side that is only paused or busy is never lost). The link goes on (it reconnects to
 * whatever answers there later); requests of this bus that it carried, and nothing else could answer, end
 * with a RequestLinkClosedError caused by this.
 */
export class LinkLostError extends BerryError {
  /** Name of the link. */
  readonly link: string;
  /** Id of the far bus it lost, when known. */
  readonly farBus: string | undefined;

  constructor(link: string, farBus: string | undefined, reason: string, cause?: unknown) {
    super("LINK_LOST", `link ${link} lost its far side${farBus === undefined ? "" : ` (bus ${farBus})`}: ${reason}`, { cause });
    this.link = link;
    this.farBus = farBus;
  }
}

// The value a misuse error names. A revoked Proxy, or one whose traps throw, threw out of describe(): its
// TypeError replaced the InvalidArgumentError or InvalidIdentifierError being built, naming no argument.
function named(value: unknown): string {
  try {
    return describe(value);
  } catch {
    return "(a value that cannot be shown)";
  }
}

/** Renders any value for an error message: strings quoted, the rest JSON-ish and truncated. */
export function describe(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (typeof value === "function") text = `function ${value.name || "(anonymous)"}`;
  // NaN and ±Infinity would read as null through JSON.
  else if (typeof value === "bigint" || typeof value === "symbol" || typeof value === "number") text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return printable(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

/** The text with what a terminal or log viewer acts on written as `\uXXXX` (see UNPRINTABLE). */
export function printable(text: string): string {
  return UNPRINTABLE.test(text) ? text.replace(UNPRINTABLE_ALL, escapeCharacter) : text;
}

// What JSON.stringify leaves raw and a terminal or log viewer acts on: DEL and C1 (CSI is U+009B), bidi
// overrides and isolates, line and paragraph separators; C0 too, for names and symbols, which skip JSON.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, "g");

function escapeCharacter(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** The message of an error-like value, or the value described. */
export function errorText(error: unknown): string {
  // A thrown value may be hostile: a Proxy whose traps throw, a `message` getter that throws or is no string.
  try {
    if (!(error instanceof Error)) return describe(error);
    const message: unknown = error.message;
    return typeof message === "string" ? message : describe(message);
  } catch {
    return "(a thrown value that could not be read)";
  }
}
