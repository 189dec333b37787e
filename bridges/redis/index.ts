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

/** `closeClient` of bridge.ts. */
export const closeClient = bridge.closeClient;

/** `openClient` of bridge.ts. */
export const openClient = bridge.openClient;

/** `DurableChannel` of bridge.ts. */
export const DurableChannel = bridge.DurableChannel;
/** An instance of DurableChannel. */
export type DurableChannel = Bridge.DurableChannel;

/** `ChannelEndedError` of bridge.ts. */
export const ChannelEndedError = bridge.ChannelEndedError;
/** An instance of ChannelEndedError. */
export type ChannelEndedError = Bridge.ChannelEndedError;

/** `DurableOverflowError` of bridge.ts. */
export const DurableOverflowError = bridge.DurableOverflowError;
/** An instance of DurableOverflowError. */
export type DurableOverflowError = Bridge.DurableOverflowError;

/** `LateReplyError` of bridge.ts. */
export const LateReplyError = bridge.LateReplyError;
/** An instance of LateReplyError. */
export type LateReplyError = Bridge.LateReplyError;

/** `MessagesMayBeLostError` of bridge.ts. */
export const MessagesMayBeLostError = bridge.MessagesMayBeLostError;
/** An instance of MessagesMayBeLostError. */
export type MessagesMayBeLostError = Bridge.MessagesMayBeLostError;

/** `NotHeldError` of bridge.ts. */
export const NotHeldError = bridge.NotHeldError;
/** An instance of NotHeldError. */
export type NotHeldError = Bridge.NotHeldError;

/** `ReceiveTimeoutError` of bridge.ts. */
export const ReceiveTimeoutError = bridge.ReceiveTimeoutError;
/** An instance of ReceiveTimeoutError. */
export type ReceiveTimeoutError = Bridge.ReceiveTimeoutError;

/** `RedisCommandError` of bridge.ts. */
export const RedisCommandError = bridge.RedisCommandError;
/** An instance of RedisCommandError. */
export type RedisCommandError = Bridge.RedisCommandError;

/** `RedisConnectFailedError` of bridge.ts. */
export const RedisConnectFailedError = bridge.RedisConnectFailedError;
/** An instance of RedisConnectFailedError. */
export type RedisConnectFailedError = Bridge.RedisConnectFailedError;

/** `RedisConnectionError` of bridge.ts. */
export const RedisConnectionError = bridge.RedisConnectionError;
/** An instance of RedisConnectionError. */
export type RedisConnectionError = Bridge.RedisConnectionError;

/** `RedisDataLostError` of bridge.ts. */
export const RedisDataLostError = bridge.RedisDataLostError;
/** An instance of RedisDataLostError. */
export type RedisDataLostError = Bridge.RedisDataLostError;

/** `RedisQueueOverflowError` of bridge.ts. */
export const RedisQueueOverflowError = bridge.RedisQueueOverflowError;
/** An instance of RedisQueueOverflowError. */
export type RedisQueueOverflowError = Bridge.RedisQueueOverflowError;

/** `RedisQueuePushBackError` of bridge.ts. */
export const RedisQueuePushBackError = bridge.RedisQueuePushBackError;
/** An instance of RedisQueuePushBackError. */
export type RedisQueuePushBackError = Bridge.RedisQueuePushBackError;

/** `ReplylessFallbackError` of bridge.ts. */
export const ReplylessFallbackError = bridge.ReplylessFallbackError;
/** An instance of ReplylessFallbackError. */
export type ReplylessFallbackError = Bridge.ReplylessFallbackError;

/** `ReplylessRefusedError` of bridge.ts. */
export const ReplylessRefusedError = bridge.ReplylessRefusedError;
/** An instance of ReplylessRefusedError. */
export type ReplylessRefusedError = Bridge.ReplylessRefusedError;

/** `channelOf` of bridge.ts. */
export const channelOf = bridge.channelOf;

/** `escapeGlob` of bridge.ts. */
export const escapeGlob = bridge.escapeGlob;

/** `subscriptionPatterns` of bridge.ts. */
export const subscriptionPatterns = bridge.subscriptionPatterns;

/** `checkHashTagPrefix` of bridge.ts. */
export const checkHashTagPrefix = bridge.checkHashTagPrefix;

/** `effectiveHashTag` of bridge.ts. */
export const effectiveHashTag = bridge.effectiveHashTag;

/** `HASH_SLOTS` of bridge.ts. */
export const HASH_SLOTS = bridge.HASH_SLOTS;

/** `hashSlot` of bridge.ts. */
export const hashSlot = bridge.hashSlot;

/** `prefixInSlots` of bridge.ts. */
export const prefixInSlots = bridge.prefixInSlots;

/** `RedisLink` of bridge.ts. */
export const RedisLink = bridge.RedisLink;
/** An instance of RedisLink. */
export type RedisLink = Bridge.RedisLink;

/** `RedisQueue` of bridge.ts. */
export const RedisQueue = bridge.RedisQueue;
/** An instance of RedisQueue. */
export type RedisQueue = Bridge.RedisQueue;
