import type { Bus } from "./bus.js";
import { InvalidArgumentError } from "./errors.js";

// A Bus, or one of another copy of berrymq: what the options below use of one.
function isBus(value: unknown): value is Bus {
  const candidate = value as Partial<Bus> | null | undefined;
  return typeof candidate?.register === "function" && typeof candidate.twitter === "function";
}

/**
 * Throws unless `bus` (an option) is undefined or a Bus, checked where the option is given: one that is no
 * Bus was taken, and each use later threw "bus.register is not a function" (or twitter), naming nothing, in
 * the place of a class's construction, a wrapped call's result, or the error it threw.
 */
export function checkBusOption(argument: string, bus: unknown): void {
  if (bus !== undefined && !isBus(bus)) throw new InvalidArgumentError(argument, bus, "a Bus");
}

/**
 * Throws unless `options` is an object, and not a Bus: `@Follower(bus)` for `@Follower({ bus })` (the types
 * refuse it, JavaScript does not) found no `bus` option in it, and used the default bus without a word.
 */
export function checkOptions(argument: string, options: unknown, expected: string): asserts options is object {
  if (typeof options !== "object" || options === null || isBus(options)) {
    throw new InvalidArgumentError(argument, options, `${expected}${isBus(options) ? ", not a Bus" : ""}`);
  }
}
