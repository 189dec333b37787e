import { BerryError, describe, errorText } from "../../lib/errors.js";
import type { Message } from "../../lib/message.js";

/** A durable message's reply or close came after its deadline: the sender was notified of a timeout instead. */
export class LateReplyError extends BerryError {
  readonly messageId: string;

  constructor(messageId: string) {
    super("LATE_REPLY", `durable message ${messageId} timed out before it was answered: its sender was notified of the timeout instead`);
    this.messageId = messageId;
  }
}

/** A reply or close for a durable message this receiver does not hold (finished, expired or re-delivered). */
export class NotHeldError extends BerryError {
  readonly messageId: string;

  constructor(messageId: string, state: string) {
    super("NOT_HELD", `durable message ${messageId} is not held by this receiver (${state})`);
    this.messageId = messageId;
  }
}

/** `receive({ timeout })` waited `timeout` ms and no durable message came. */
export class ReceiveTimeoutError extends BerryError {
  readonly timeout: number;

  constructor(channel: string, timeout: number) {
    super("RECEIVE_TIMEOUT", `durable channel "${channel}": no message within ${timeout} ms`);
    this.timeout = timeout;
  }
}

/**
 * The durable channel was ended: pending and later calls reject with this. A `send()`, `reply()` or
 * `close()` that was on its way names its message (`messageId`): Redis may or may not have recorded it.
 */
export class ChannelEndedError extends BerryError {
  /** The message a call on its way concerned (the id sent, or the message replied to or closed). */
  readonly messageId: string | undefined;

  constructor(channel: string, messageId?: string, outcome?: string) {
    const about = messageId === undefined ? "" : `: message ${messageId}${outcome === undefined ? "" : `: ${outcome}`}`;
    super("CHANNEL_ENDED", `durable channel "${channel}" has ended${about}`);
    this.messageId = messageId;
  }
}

/** A Redis command the adapter needed failed; `message` (when there is one) is what it concerned. */
export class RedisCommandError extends BerryError {
  readonly dropped: { id: string; messageId: string } | undefined;

  constructor(what: string, cause: unknown, dropped?: { id: string; messageId: string }) {
    const about = dropped === undefined ? "" : ` (message "${dropped.id}" ${dropped.messageId})`;
    super("REDIS_COMMAND_FAILED", `redis: ${what} failed${about}: ${cause instanceof Error ? cause.message : describe(cause)}`, { cause });
    this.dropped = dropped === undefined ? undefined : { id: dropped.id, messageId: dropped.messageId };
  }
}

/**
 * `maxPending` sends of a durable channel already waited for Redis (it is away): this one was not sent and
 * nothing was recorded for it. `messageId` (also in `dropped`) is its id: send it again with that id once
 * Redis is back.
 */
export class DurableOverflowError extends BerryError {
  /** The id of the message not sent. */
  readonly messageId: string;
  /** The message not sent: the channel it was for and its id. */
  readonly dropped: { to: string; messageId: string };
  readonly maxPending: number;

  constructor(channel: string, maxPending: number, dropped: { to: string; messageId: string }) {
    super(
      "DURABLE_OVERFLOW",
      `durable channel "${channel}": ${maxPending} sends already wait for Redis (maxPending): dropped message ${dropped.messageId} to "${dropped.to}" (not sent, nothing recorded)`,
    );
    this.messageId = dropped.messageId;
    this.dropped = { to: dropped.to, messageId: dropped.messageId };
    this.maxPending = maxPending;
  }
}

/**
 * `maxPending` pushes of a RedisQueue already waited for Redis (it is away): this message was not queued
 * and nothing was written for it. `dropped` names it (`id`, `messageId`); `refused` is the message itself,
 * to send again once Redis is back.
 */
export class RedisQueueOverflowError extends BerryError {
  /** The message not queued: its identifier and id. */
  readonly dropped: { id: string; messageId: string };
  /** The message not queued, whole. */
  readonly refused: Message;
  readonly maxPending: number;

  constructor(queue: string, maxPending: number, refused: Message) {
    super(
      "REDIS_QUEUE_OVERFLOW",
      `redis queue ${describe(queue)}: ${maxPending} pushes already wait for Redis (maxPending): dropped message ${describe(refused.id)} ${refused.messageId} (not queued)`,
    );
    this.dropped = { id: refused.id, messageId: refused.messageId };
    this.refused = refused;
    this.maxPending = maxPending;
  }
}

/**
 * A RedisQueue popped a message while it closed (or while the get() that popped it was aborted), and
 * could not put it back (Redis hung, gone or refusing). The error carries it whole: `popped` (the
 * message; `undefined` when the value was no valid envelope) and `envelope` (the value as it was in the
 * list: LPUSH it to `queue` again to requeue it). `mayBeQueued`: Redis never answered the push-back (hung,
 * or the connection broke with it on its way), so a Redis that resumes may still apply it: the message
 * may be in the queue again (check by its messageId before requeueing it); false: Redis refused it, the
 * message is in no queue.
 */
export class RedisQueuePushBackError extends BerryError {
  /** The queue's key. */
  readonly queue: string;
  /** The message's id and messageId (`undefined` when the value was no valid envelope). */
  readonly dropped: { id: string; messageId: string } | undefined;
  /** The message, decoded (`undefined` when the value was no valid envelope). */
  readonly popped: Message | undefined;
  /** The value popped, as it was in the list. */
  readonly envelope: string;
  /** Whether Redis may still apply the push-back (it never answered it); false: it refused it. */
  readonly mayBeQueued: boolean;

  constructor(queue: string, envelope: string, popped: Message | undefined, mayBeQueued: boolean, cause: unknown) {
    const about = popped === undefined ? `value ${describe(envelope)}` : `message "${popped.id}" (${popped.messageId})`;
    const where = mayBeQueued ? "it may or may not be in the queue again" : "it is in no queue now";
    super(
      "REDIS_QUEUE_PUSHBACK_FAILED",
      `redis queue ${queue}: ${about}, popped as the get() that took it ended (the queue closing or the get aborted), could not be put back (${where}: the error carries it): ${errorText(cause)}`,
      { cause },
    );
    this.queue = queue;
    this.mayBeQueued = mayBeQueued;
    this.dropped = popped === undefined ? undefined : { id: popped.id, messageId: popped.messageId };
    this.popped = popped;
    this.envelope = envelope;
  }
}

/**
 * The keys of a durable prefix or a Redis queue were lost (Redis restarted without persistence, was
 * flushed, or failed over to a replica that never had them): messages sent, queued or held before may be
 * gone, and no timeout notice will come for them. Reported once per loss by each channel of the prefix,
 * or each RedisQueue of the queue.
 */
export class RedisDataLostError extends BerryError {
  readonly prefix: string;

  constructor(
    who: string,
    prefix: string,
    lost = "messages sent, queued or held before may be gone, and no reply or timeout notice will come for them",
  ) {
    super(
      "REDIS_DATA_LOST",
      `${who}: the keys of prefix ${describe(prefix)} were lost (Redis restarted empty, was flushed, or failed over to a replica without them): ${lost}`,
    );
    this.prefix = prefix;
  }
}

/** The connection to Redis failed; the client reconnects by itself (reported once per outage). */
export class RedisConnectionError extends BerryError {
  constructor(who: string, cause: unknown) {
    super("REDIS_CONNECTION", `${who}: redis connection lost, reconnecting: ${cause instanceof Error ? cause.message : describe(cause)}`, { cause });
  }
}

/**
 * `RedisLink.connect()` (and the link's `ready`) could not reach Redis before the link opened: `servers`
 * names what it tried (`host:port` or a socket path: the server, a Cluster's startup nodes, or the
 * sentinels; never a credential), the message says why, and `cause` is ioredis's error.
 * `RedisLink.connect()` closes what the link opened before it rejects.
 */
export class RedisConnectFailedError extends BerryError {
  /** The servers tried: the server, a Cluster's startup nodes, or the sentinels. */
  readonly servers: readonly string[];

  /** `why`: what failed, when ioredis's own text (the default) would mislead (see whyFailed in connection.ts). */
  constructor(who: string, where: string, servers: readonly string[], cause: unknown, why = errorText(cause)) {
    super("REDIS_CONNECT_FAILED", `${who}: could not connect to ${where}: ${why}`, { cause });
    this.servers = [...servers];
  }
}

/**
 * A link's connection to Redis broke (or a Cluster node it used failed over): pub/sub is at most once, so
 * messages published meanwhile may have been missed by this bus. Reported once per outage.
 */
export class MessagesMayBeLostError extends BerryError {
  constructor(who: string, cause: unknown) {
    super(
      "REDIS_MESSAGES_MAY_BE_LOST",
      `${who}: redis connection lost, reconnecting; messages published until it is subscribed again may have been missed (pub/sub is at most once: use a DurableChannel for messages that must arrive): ${cause instanceof Error ? cause.message : describe(cause)}`,
      { cause },
    );
  }
}
