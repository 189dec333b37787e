import { Bus, type FollowerFunction, type FollowOptions, type Unsubscribe } from "./bus.js";

/** The process-wide bus behind berryMQ's module-level functions. */
export const defaultBus: Bus = new Bus();

/** `defaultBus.twitter`: sends a message to every matching follower and queue. */
export function twitter(identifier: string, ...args: unknown[]): number {
  return defaultBus.twitter(identifier, ...args);
}

/** `defaultBus.talk`: sends, then forwards each follower's result as a `callbackIdentifier` message. */
export function talk(identifier: string, callbackIdentifier: string, ...args: unknown[]): Promise<unknown[]> {
  return defaultBus.talk(identifier, callbackIdentifier, ...args);
}

/** `defaultBus.follow` under berryMQ's name: registers a plain function as a follower. */
export function followingFunction(pattern: string, follower: FollowerFunction, options?: FollowOptions): Unsubscribe {
  return defaultBus.follow(pattern, follower, options);
}

/** `defaultBus.setMultiplicity`: bounds how many followers run at once. */
export function setMultiplicity(limit: number): void {
  defaultBus.setMultiplicity(limit);
}
