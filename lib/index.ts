export { autoTwitter, type AutoTwitterDecorator, type AutoTwitterOptions } from "./auto-twitter.js";
export {
  Bus,
  type BusEvents,
  type BusOptions,
  type FollowerFunction,
  type FollowOptions,
  type QueueSink,
  type Unsubscribe,
} from "./bus.js";
export { ConcurrencyLimiter } from "./concurrency-limiter.js";
export {
  Follower,
  type FollowerClassDecorator,
  type FollowerOptions,
  following,
  type FollowingDecorator,
  type FollowingOptions,
} from "./decorators.js";
export { defaultBus, followingFunction, setMultiplicity, talk, twitter } from "./default-bus.js";
export {
  BerryError,
  BusClosedError,
  FollowerError,
  InvalidArgumentError,
  InvalidIdentifierError,
  QueueClosedError,
  QueueEmptyError,
  QueueOverflowError,
  QueueTimeoutError,
} from "./errors.js";
export type { Guard } from "./follower-metadata.js";
export { type Identifier, isWildcard, matches, parseIdentifier, WILDCARD } from "./identifier.js";
export { Kwargs, kw } from "./kwargs.js";
export { createMessage, type Message, type MessageInit, withHop } from "./message.js";
export { type Answer, type RequestOptions, Within, within } from "./request.js";
export { RemoteError, RequestAbortedError, RequestOverflowError, RequestTimeoutError } from "./request-errors.js";
export { type ExposedDecorator, expose, exposed, type Stub, type StubOptions, stub } from "./stub.js";
export { type GetOptions, type OverflowPolicy, Queue, type QueueOptions } from "./queue.js";
