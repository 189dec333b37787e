import { Bus, type FollowerFunction, type FollowOptions, type RequestArgs, type TalkResult, type Unsubscribe } from "./bus.js";
import type { EventMap, Untyped } from "./event-map.js";
import type { Message } from "./message.js";
import type { MessageFor, PatternOf, SendArgs } from "./typed-identifiers.js";

/**
 * Declares the event map of `defaultBus` and the module-level functions, by module augmentation
 * (untyped, as before, until `events` is declared).
 * @example declare module "berrymq" { interface Register { events: { "temp:read": [celsius: number] } } }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by module augmentation
export interface Register {}

/** The event map of `defaultBus`: `Register["events"]`, or untyped. */
export type DefaultEvents = Register extends { events: infer E extends EventMap } ? E : Untyped;

/** The process-wide bus behind berryMQ's module-level functions. */
export const defaultBus: Bus<DefaultEvents> = new Bus() as Bus<DefaultEvents>;

/** `defaultBus.twitter`: sends a message to every matching follower and queue. */
export function twitter<const P extends PatternOf<DefaultEvents>>(
  identifier: P,
  ...args: Extract<SendArgs<DefaultEvents, P>, unknown[]>
): number;
export function twitter(identifier: string, ...args: unknown[]): number {
  return (defaultBus as Bus).twitter(identifier, ...args);
}

/** `defaultBus.talk`: sends, then forwards each follower's result as a `callbackIdentifier` message. */
export function talk<const P extends PatternOf<DefaultEvents>, const C extends PatternOf<DefaultEvents>>(
  identifier: P,
  callbackIdentifier: C,
  ...args: RequestArgs<DefaultEvents, P>
): Promise<TalkResult<DefaultEvents, C>[]>;
export function talk(identifier: string, callbackIdentifier: string, ...args: unknown[]): Promise<unknown[]> {
  return (defaultBus as Bus).talk(identifier, callbackIdentifier, ...args);
}

/** `defaultBus.follow` under berryMQ's name: registers a plain function as a follower. */
export function followingFunction<const P extends PatternOf<DefaultEvents>>(
  pattern: P,
  follower: FollowerFunction<Extract<MessageFor<DefaultEvents, P>, Message>>,
  options?: FollowOptions<Extract<MessageFor<DefaultEvents, P>, Message>>,
): Unsubscribe;
export function followingFunction(
  pattern: string,
  follower: FollowerFunction<never>,
  options?: FollowOptions<never>,
): Unsubscribe {
  return (defaultBus as Bus).follow(pattern, follower as FollowerFunction, options as FollowOptions | undefined);
}

/** `defaultBus.setMultiplicity`: bounds how many followers run at once. */
export function setMultiplicity(limit: number): void {
  defaultBus.setMultiplicity(limit);
}
