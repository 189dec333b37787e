// Everything berrymq/redis exports, loaded by index.ts once ioredis is known to be installed.
export { closeClient, type ClientOverrides, openClient, type RedisClient, type RedisConnection } from "./connection.js";
export {
  DurableChannel,
  type DurableChannelEvents,
  type DurableChannelOptions,
  type DurableSendOptions,
  type SentMessage,
} from "./durable-channel.js";
export type { DurableKind, DurableMessage } from "./durable-message.js";
export { ChannelEndedError, LateReplyError, NotHeldError, ReceiveTimeoutError, RedisCommandError, RedisConnectionError } from "./errors.js";
export { channelOf, escapeGlob, subscriptionPatterns } from "./glob.js";
export { RedisLink, type RedisLinkOptions } from "./redis-link.js";
export { RedisQueue, type RedisQueueEvents, type RedisQueueOptions, type RedisQueueStats } from "./redis-queue.js";
