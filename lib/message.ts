import { coarseNow } from "./coarse-clock.js";
import { InvalidArgumentError } from "./errors.js";
import { type Identifier, parseIdentifier } from "./identifier.js";
import { isPlainObject, NO_KWARGS } from "./kwargs.js";
import { unguessableMessageId, unguessableSuffix } from "./unguessable-suffix.js";

/**
 * One message on a bus. Frozen once created (its args too): followers, queues and links all see the same
 * object. `hops` lists the ids of the buses it has passed through, its origin first. `args` and
 * `messageId` are getters: spread or `structuredClone` do not copy them; use `toJSON()` for plain data.
 */
export interface Message {
  /** Canonical identifier, `"name:action"`. */
  readonly id: string;
  readonly name: string;
  readonly action: string;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  /** Unique across processes; links use it to drop duplicates. */
  readonly messageId: string;
  /**
   * Milliseconds since the epoch, when the message was created, from a cached clock: read for the first
   * message after each microtask checkpoint and every 128th one, so sends within one synchronous run (no
   * `await` between them) may all carry the time of the first. Read `Date.now()` for the exact time.
   */
  readonly timestamp: number;
  /** Ids of the buses this message went through, the origin first. */
  readonly hops: readonly string[];
  /** Set by `talk()`: followers' results are sent on to this identifier. */
  readonly replyTo?: string;
  /** On an answer: the messageId of the request it answers. */
  readonly inReplyTo?: string;
  /** Id of the one bus this message is addressed to (answers, balanced requests); links route it there. */
  readonly to?: string;
  /** Every field as plain data (what `JSON.stringify` writes). */
  toJSON(): Record<string, unknown>;
}

/** What it takes to build a message; anything left out is filled in. */
export interface MessageInit {
  identifier: string | Identifier;
  args?: readonly unknown[];
  kwargs?: Readonly<Record<string, unknown>>;
  messageId: string;
  timestamp?: number;
  hops: readonly string[];
  replyTo?: string | undefined;
  inReplyTo?: string | undefined;
  to?: string | undefined;
}

/**
 * The one implementation of Message, frozen. Two fields are getters, to keep plain dispatch cheap:
 * `messageId` is built from the bus's id, sequence number and a random suffix on first read, and `args` is frozen on
 * first read (nobody can reach the array before that). `toJSON()` gives every field as plain data.
 */
class FrozenMessage implements Message {
  readonly id: string;
  readonly name: string;
  readonly action: string;
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly timestamp: number;
  readonly hops: readonly string[];
  declare readonly replyTo?: string;
  declare readonly inReplyTo?: string;
  declare readonly to?: string;
  // Private fields stay writable on a frozen object: that is what lets the getters finish lazily.
  #args: readonly unknown[];
  // A number until first read: the sequence number the origin bus (hops[0]) gave it.
  #messageId: string | number;

  constructor(
    identifier: Pick<Identifier, "id" | "name" | "action">,
    args: readonly unknown[],
    kwargs: Readonly<Record<string, unknown>>,
    timestamp: number,
    hops: readonly string[],
    messageId: string | number,
    replyTo: string | undefined,
    inReplyTo: string | undefined,
    to: string | undefined,
  ) {
    this.id = identifier.id;
    this.name = identifier.name;
    this.action = identifier.action;
    this.kwargs = kwargs;
    this.timestamp = timestamp;
    this.hops = hops;
    this.#args = args;
    this.#messageId = messageId;
    if (replyTo !== undefined) (this as { replyTo?: string }).replyTo = replyTo;
    if (inReplyTo !== undefined) (this as { inReplyTo?: string }).inReplyTo = inReplyTo;
    if (to !== undefined) (this as { to?: string }).to = to;
    Object.freeze(this);
  }

  /** The args as held, frozen or not yet (both messages then share the one array, frozen on first read). */
  static argsOf(message: FrozenMessage): readonly unknown[] {
    return message.#args;
  }

  get args(): readonly unknown[] {
    return Object.isFrozen(this.#args) ? this.#args : Object.freeze(this.#args);
  }

  get messageId(): string {
    if (typeof this.#messageId === "number") this.#messageId = messageIdOf(this.hops[0] as string, this.#messageId);
    return this.#messageId;
  }

  // console.log and util.inspect show every field, the two getters included.
  [Symbol.for("nodejs.util.inspect.custom")](): Record<string, unknown> {
    return this.toJSON();
  }

  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      id: this.id,
      name: this.name,
      action: this.action,
      args: this.args,
      kwargs: this.kwargs,
      messageId: this.messageId,
      timestamp: this.timestamp,
      hops: this.hops,
    };
    if (this.replyTo !== undefined) json.replyTo = this.replyTo;
    if (this.inReplyTo !== undefined) json.inReplyTo = this.inReplyTo;
    if (this.to !== undefined) json.to = this.to;
    return json;
  }
}

/**
 * Builds a frozen message, validating every field (this is also how links rebuild a received one).
 * @throws InvalidIdentifierError or InvalidArgumentError naming the bad value.
 */
export function createMessage(init: MessageInit): Message {
  const parsed = typeof init.identifier === "string" ? parseIdentifier(init.identifier) : init.identifier;
  const args = init.args ?? [];
  if (!Array.isArray(args)) throw new InvalidArgumentError("args", args, "an array");
  const kwargs = init.kwargs ?? NO_KWARGS;
  if (!isPlainObject(kwargs)) throw new InvalidArgumentError("kwargs", kwargs, "a plain object");
  if (typeof init.messageId !== "string" || init.messageId.length === 0) {
    throw new InvalidArgumentError("messageId", init.messageId, "a non-empty string");
  }
  return rebuiltMessage(
    parsed,
    args,
    kwargs,
    init.messageId,
    init.timestamp ?? Date.now(),
    init.hops,
    init.replyTo,
    init.inReplyTo,
    init.to,
  );
}

/**
 * What `createMessage` builds, from fields the caller has already checked (a link's received envelope:
 * `fromEnvelope` checks every field itself, and the init object and second checks cost ~0.1 µs a
 * message). `args` and `hops` are copied, `kwargs` too unless frozen; `replyTo` is parsed (it may throw
 * InvalidIdentifierError) and kept canonical.
 */
export function rebuiltMessage(
  identifier: Identifier,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
  messageId: string,
  timestamp: number,
  hops: readonly string[],
  replyTo: string | undefined,
  inReplyTo: string | undefined,
  to: string | undefined,
): Message {
  return new FrozenMessage(
    identifier,
    args.slice(),
    Object.isFrozen(kwargs) ? kwargs : isEmpty(kwargs) ? NO_KWARGS : Object.freeze({ ...kwargs }),
    timestamp,
    Object.freeze(hops.slice()),
    messageId,
    replyTo === undefined ? undefined : parseIdentifier(replyTo).id,
    inReplyTo,
    to,
  );
}

// `${origin}/${n}${suffix}`: the sequence number keeps ids unique, the random suffix (fixed length,
// never "/") makes the next ones unguessable to whoever saw earlier ones. Numbers start at a random point
// below 2^40, past what V8 keeps as small integers: their own conversion took ~200 ns (a double printed
// digit by digit), two halves that are small integers ~50 ns. `${origin}/${high}` (the digits above the
// last nine change once in 10^9 messages) is kept.
let lastOrigin: string | undefined;
let lastHigh = -1;
let lastPrefix = "";
function messageIdOf(origin: string, n: number): string {
  if (n < 1e9) return unguessableMessageId(origin, n);
  const high = Math.floor(n / 1e9);
  if (origin !== lastOrigin || high !== lastHigh) {
    lastPrefix = `${origin}/${high}`;
    lastOrigin = origin;
    lastHigh = high;
  }
  const low = `${n - high * 1e9}`;
  const digits = low.length === 9 ? low : `${ZEROS.slice(low.length)}${low}`;
  return `${lastPrefix}${digits}${unguessableSuffix()}`;
}
const ZEROS = "000000000";

// Received envelopes mostly carry `{}`: the shared frozen one saves a copy and a freeze per message.
function isEmpty(record: Readonly<Record<string, unknown>>): boolean {
  for (const key in record) if (Object.hasOwn(record, key)) return false;
  return true;
}

/**
 * A bus's own new message, on the dispatch hot path: `args` must be a fresh array that the caller hands
 * over (nobody else may hold it), `kwargs` frozen, `hops` frozen with the bus's id first; the messageId
 * is `${hops[0]}/${seq}` and eight random characters (a bus's sequence starts at a random point, so a
 * restarted bus does not repeat it; the random part keeps its next ids unguessable).
 */
export function newMessage(
  identifier: Identifier,
  args: unknown[],
  kwargs: Readonly<Record<string, unknown>>,
  hops: readonly string[],
  seq: number,
  replyTo: string | undefined,
  inReplyTo: string | undefined,
  to?: string,
): Message {
  return new FrozenMessage(identifier, args, kwargs, coarseNow(), hops, seq, replyTo, inReplyTo, to);
}

/** The same message, recorded as having passed through one more bus. */
export function withHop(message: Message, busId: string): Message {
  return new FrozenMessage(
    message,
    // Not the getter: it would freeze args now, for a message no follower may ever read.
    message instanceof FrozenMessage ? FrozenMessage.argsOf(message) : message.args,
    message.kwargs,
    message.timestamp,
    hopsWith(message.hops, busId),
    message.messageId,
    message.replyTo,
    message.inReplyTo,
    message.to,
  );
}

// `Object.freeze([...hops, busId])` without the spread, whose iteration and over-allocated array cost
// ~140 ns and ~200 bytes a received message, against ~50 ns and ~65 bytes.
function hopsWith(hops: readonly string[], busId: string): readonly string[] {
  const n = hops.length;
  if (n === 1) return Object.freeze([hops[0] as string, busId]);
  const copy = new Array<string>(n + 1);
  for (let i = 0; i < n; i++) copy[i] = hops[i] as string;
  copy[n] = busId;
  return Object.freeze(copy);
}
