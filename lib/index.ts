export {
  autoTwitter,
  type AutoTwitterDecorator,
  type AutoTwitterFits,
  type AutoTwitterOptions,
  type TypedAutoTwitterDecorator,
} from "./auto-twitter.js";
export {
  Bus,
  type BusEvents,
  type BusOptions,
  type FollowerFunction,
  type FollowOptions,
  type QueueSink,
  type RequestArgs,
  type TalkResult,
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
  type AcceptsAll,
  type TypedFollowingDecorator,
  typedFollowing,
} from "./decorators.js";
export {
  type DefaultEvents,
  defaultBus,
  followingFunction,
  type Register,
  setMultiplicity,
  talk,
  twitter,
} from "./default-bus.js";
export {
  BerryError,
  BusClosedError,
  ErrorListenerError,
  DeliveryOverflowError,
  FollowerRemovedError,
  FollowerError,
  InvalidArgumentError,
  InvalidIdentifierError,
  LinkLostError,
  ListenerError,
  MissingDependencyError,
  QueueClosedError,
  QueueEmptyError,
  QueueOverflowError,
  QueueTimeoutError,
} from "./errors.js";
export type { Guard } from "./follower-metadata.js";
export {
  DEFAULT_NAMESPACE,
  formatIdentifier,
  type Identifier,
  isLocal,
  isWildcard,
  matches,
  parseIdentifier,
  WILDCARD,
} from "./identifier.js";
export { Kwargs, kw } from "./kwargs.js";
export { createMessage, type Message, type MessageInit, withHop } from "./message.js";
export type { FunctionWrapper } from "./method-wrapper.js";
export type { ExposeFits, ExposeOptions } from "./stub.js";
export { type GetOptions, type OverflowPolicy, Queue, type QueueOptions, type QueuedMessage } from "./queue.js";
export { QueueBudget, type QueueBudgetOptions } from "./queue-budget.js";
export { checkDuration, checkTimerDelay, type LongTimer, MAX_TIMER_DELAY, setLongTimeout } from "./long-timer.js";
export {
  type ExceptionArgs,
  type ExceptionIdOf,
  type TwitterExceptionOptions,
  twitterException,
} from "./twitter-exception.js";
export type { ArgsOf, EventMap, IsUntyped, KwargsOf, Payload, SendArgsOf, Untyped } from "./event-map.js";
export { SchemaValidationError } from "./schema-error.js";
export {
  type EventsOf,
  type SchemaEntry,
  type SchemaMap,
  type SchemaOutcome,
  Schemas,
  schemasOf,
  twitterChecked,
  useSchemas,
} from "./schema-map.js";
export type {
  AnswerOf,
  IdMatches,
  IdsReaching,
  MatchingIds,
  MessageFor,
  ParsedId,
  PatternOf,
  PayloadOf,
  SendArgs,
  TypedMessage,
} from "./typed-identifiers.js";
export { type Answer, type RequestOptions, Within, within } from "./request.js";
export {
  AnswerOverflowError,
  RemoteError,
  RequestAbortedError,
  RequestLinkClosedError,
  RequestOverflowError,
  RequestTimeoutError,
} from "./request-errors.js";
export { type ExposedDecorator, expose, exposed, type Stub, type StubOptions, stub } from "./stub.js";
