import { InvalidArgumentError } from "./errors.js";
import { type Identifier, parseIdentifier } from "./identifier.js";
import { isPlainObject, NO_KWARGS } from "./kwargs.js";

/**
 * One message on a bus. Frozen once created: followers, queues and links all see the same object.
 * `hops` lists the ids of the buses it has passed through, its origin first.
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
  /** Milliseconds since the epoch, when the message was created. */
  readonly timestamp: number;
  /** Ids of the buses this message went through, the origin first. */
  readonly hops: readonly string[];
  /** Set by `talk()`: followers' results are sent on to this identifier. */
  readonly replyTo?: string;
  /** On a `talk()` result: the messageId of the message it answers. */
  readonly inReplyTo?: string;
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
  const message: { -readonly [K in keyof Message]: Message[K] } = {
    id: parsed.id,
    name: parsed.name,
    action: parsed.action,
    args: Object.isFrozen(args) ? args : Object.freeze(args.slice()),
    kwargs: Object.isFrozen(kwargs) ? kwargs : Object.freeze({ ...kwargs }),
    messageId: init.messageId,
    timestamp: init.timestamp ?? Date.now(),
    hops: Object.isFrozen(init.hops) ? init.hops : Object.freeze(init.hops.slice()),
  };
  if (init.replyTo !== undefined) message.replyTo = parseIdentifier(init.replyTo).id;
  if (init.inReplyTo !== undefined) message.inReplyTo = init.inReplyTo;
  return Object.freeze(message);
}

/** The same message, recorded as having passed through one more bus. */
export function withHop(message: Message, busId: string): Message {
  return Object.freeze({ ...message, hops: Object.freeze([...message.hops, busId]) });
}
