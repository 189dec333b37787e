// berrymq/redis: the Redis bridges. Only this subpath loads ioredis (an optional peer dependency); the core
// never does. bridge.ts is loaded dynamically after a check, so a missing ioredis fails here with an
// error saying what to install. Every value bridge.ts exports is listed below (spec/package checks it).
import { requirePeer } from "../peer-dependency.js";
import type * as Bridge from "./bridge.js";

await requirePeer("ioredis", "berrymq/redis");
const bridge: typeof Bridge = await import("./bridge.js");

export type {
  ClientOverrides,
  ClusterConnection,
  DurableChannelEvents,
  DurableChannelOptions,
  DurableKind,
  DurableMessage,
  DurableSendOptions,
  PublishPath,
  RedisClient,
  RedisConnection,
  RedisLinkOptions,
  RedisQueueEvents,
  RedisQueueOptions,
  RedisQueueStats,
  SentMessage,
} from "./bridge.js";

/**
 * Closes a client politely (QUIT), or at once when it is not connected, or when the QUIT has no answer within
 * `grace` ms (a hung Redis, connected but answering nothing, would hold it for ever).
 */
export const closeClient = bridge.closeClient;

/** Opens a new client of `connection`, with `overrides` (reconnection policy) on top. */
export const openClient = bridge.openClient;

/**
 * A named queue of messages in Redis that loses none (muppet's DurableChannel): several receivers of one channel
 * each get a different message; every message sent with a timeout is either replied to (or closed) within it, or
 * its sender is sent a `timeout` notice, exactly once, even if receivers are killed or the sender restarts.
 */
export const DurableChannel = bridge.DurableChannel;
/** An instance of DurableChannel. */
export type DurableChannel = Bridge.DurableChannel;

/** The durable channel was ended: pending and later calls reject with this. */
export const ChannelEndedError = bridge.ChannelEndedError;
/** An instance of ChannelEndedError. */
export type ChannelEndedError = Bridge.ChannelEndedError;

/**
 * `maxPending` sends of a durable channel already waited for Redis (it is away): this one was not sent and
 * nothing was recorded for it.
 */
export const DurableOverflowError = bridge.DurableOverflowError;
/** An instance of DurableOverflowError. */
export type DurableOverflowError = Bridge.DurableOverflowError;

/** A durable message's reply or close came after its deadline: the sender was notified of a timeout instead. */
export const LateReplyError = bridge.LateReplyError;
/** An instance of LateReplyError. */
export type LateReplyError = Bridge.LateReplyError;

/**
 * A link's connection to Redis broke (or a Cluster node it used failed over): pub/sub is at most once, so
 * messages published meanwhile may have been missed by this bus.
 */
export const MessagesMayBeLostError = bridge.MessagesMayBeLostError;
/** An instance of MessagesMayBeLostError. */
export type MessagesMayBeLostError = Bridge.MessagesMayBeLostError;

/** A reply or close for a durable message this receiver does not hold (finished, expired or re-delivered). */
export const NotHeldError = bridge.NotHeldError;
/** An instance of NotHeldError. */
export type NotHeldError = Bridge.NotHeldError;

/** `receive({ timeout })` waited `timeout` ms and no durable message came. */
export const ReceiveTimeoutError = bridge.ReceiveTimeoutError;
/** An instance of ReceiveTimeoutError. */
export type ReceiveTimeoutError = Bridge.ReceiveTimeoutError;

/** A Redis command the adapter needed failed; `message` (when there is one) is what it concerned. */
export const RedisCommandError = bridge.RedisCommandError;
/** An instance of RedisCommandError. */
export type RedisCommandError = Bridge.RedisCommandError;

/**
 * `RedisLink.connect()` (and the link's `ready`) could not reach Redis before the link opened: `servers` names
 * what it tried (`host:port` or a socket path: the server, a Cluster's startup nodes, or the sentinels; never a
 * credential), the message says why, and `cause` is ioredis's error.
 */
export const RedisConnectFailedError = bridge.RedisConnectFailedError;
/** An instance of RedisConnectFailedError. */
export type RedisConnectFailedError = Bridge.RedisConnectFailedError;

/** The connection to Redis failed; the client reconnects by itself (reported once per outage). */
export const RedisConnectionError = bridge.RedisConnectionError;
/** An instance of RedisConnectionError. */
export type RedisConnectionError = Bridge.RedisConnectionError;

/**
 * The keys of a durable prefix or a Redis queue were lost (Redis restarted without persistence, was flushed, or
 * failed over to a replica that never had them): messages sent, queued or held before may be gone, and no
 * timeout notice will come for them.
 */
export const RedisDataLostError = bridge.RedisDataLostError;
/** An instance of RedisDataLostError. */
export type RedisDataLostError = Bridge.RedisDataLostError;

/**
 * `maxPending` pushes of a RedisQueue already waited for Redis (it is away): this message was not queued and
 * nothing was written for it.
 */
export const RedisQueueOverflowError = bridge.RedisQueueOverflowError;
/** An instance of RedisQueueOverflowError. */
export type RedisQueueOverflowError = Bridge.RedisQueueOverflowError;

/**
 * A RedisQueue popped a message while it closed (or while the get() that popped it was aborted), and could not
 * put it back (Redis hung, gone or refusing).
 */
export const RedisQueuePushBackError = bridge.RedisQueuePushBackError;
/** An instance of RedisQueuePushBackError. */
export type RedisQueuePushBackError = Bridge.RedisQueuePushBackError;

/**
 * A link with `replylessPublish: "auto"` (the default) publishes over its ioredis client from now on: Redis
 * refused `CLIENT REPLY OFF` on the replyless socket.
 */
export const ReplylessFallbackError = bridge.ReplylessFallbackError;
/** An instance of ReplylessFallbackError. */
export type ReplylessFallbackError = Bridge.ReplylessFallbackError;

/**
 * `replylessPublish: true`, and Redis refused the replyless socket's handshake (CLIENT renamed or forbidden, an
 * ACL user without `+client|reply`, Redis < 3.2): `RedisLink.connect()` rejects with it.
 */
export const ReplylessRefusedError = bridge.ReplylessRefusedError;
/** An instance of ReplylessRefusedError. */
export type ReplylessRefusedError = Bridge.ReplylessRefusedError;

/** The pub/sub channel a message with this identifier is published on. */
export const channelOf = bridge.channelOf;

/** Escapes Redis glob characters (`* ? [ ] \`) so that `text` matches only itself in a PSUBSCRIBE pattern. */
export const escapeGlob = bridge.escapeGlob;

/**
 * The PSUBSCRIBE patterns that receive every message matching one of `filters`, the way berryMQ matches:
 * symmetric wildcards, so a concrete part also listens for messages *sent* with `*` in that part.
 */
export const subscriptionPatterns = bridge.subscriptionPatterns;

/** Refuses a key prefix whose keys would scatter over a Cluster's slots (see {@link effectiveHashTag}). */
export const checkHashTagPrefix = bridge.checkHashTagPrefix;

/**
 * The hash tag Redis Cluster hashes for every key that starts with `prefix`, or `undefined` when keys with that
 * prefix would not share one (no `{`, an empty `{}` — Redis then hashes the whole key — or no `}` inside the
 * prefix).
 */
export const effectiveHashTag = bridge.effectiveHashTag;

/** Number of hash slots of a Redis Cluster. */
export const HASH_SLOTS = bridge.HASH_SLOTS;

/** The Cluster hash slot of `key` (CRC16/XMODEM of its hash tag or of the whole key, mod 16384). */
export const hashSlot = bridge.hashSlot;

/**
 * A prefix `<base>:{<tag>}:` (the tag `<base>`, else `<base>-1`, `<base>-2`…) whose tag hashes to a slot in
 * `[from, to]` (inclusive), e.g. one a given Cluster master serves: to spread durable prefixes over masters.
 */
export const prefixInSlots = bridge.prefixInSlots;

/**
 * Links the local bus to every other bus on the same Redis and prefix, over pub/sub (muppet's RemoteChannel):
 * exported messages are published on `<prefix><name>:<action>`, and the import filters become pattern
 * subscriptions.
 */
export const RedisLink = bridge.RedisLink;
/** An instance of RedisLink. */
export type RedisLink = Bridge.RedisLink;

/**
 * A queue in Redis with the interface of the in-process `Queue`: every process that opens the same queue name
 * competes for its messages (each goes to one `get()`), and each feeds it with the messages of its bus that
 * match the filter.
 */
export const RedisQueue = bridge.RedisQueue;
/** An instance of RedisQueue. */
export type RedisQueue = Bridge.RedisQueue;
