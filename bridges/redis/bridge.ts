// Everything berrymq/redis exports, loaded by index.ts once ioredis is known to be installed.
export { type ClientOverrides, type ClusterConnection, closeClient, openClient, type RedisClient, type RedisConnection } from "./connection.js";
export {
  DurableChannel,
  type DurableChannelEvents,
  type DurableChannelOptions,
  type DurableSendOptions,
  type SentMessage,
} from "./durable-channel.js";
export type { DurableKind, DurableMessage } from "./durable-message.js";
export {
  ChannelEndedError,
  DurableOverflowError,
  LateReplyError,
  MessagesMayBeLostError,
  NotHeldError,
  ReceiveTimeoutError,
  RedisCommandError,
  RedisConnectFailedError,
  RedisConnectionError,
  RedisDataLostError,
  RedisQueueOverflowError,
  RedisQueuePushBackError,
} from "./errors.js";
export { channelOf, escapeGlob, subscriptionPatterns } from "./glob.js";
export { checkHashTagPrefix, effectiveHashTag, HASH_SLOTS, hashSlot, prefixInSlots } from "./hash-slot.js";
export { type PublishPath, RedisLink, type RedisLinkOptions } from "./redis-link.js";
export { ReplylessFallbackError, ReplylessRefusedError } from "./replyless-errors.js";
export { RedisQueue, type RedisQueueEvents, type RedisQueueOptions, type RedisQueueStats } from "./redis-queue.js";
