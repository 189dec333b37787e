import type { Bus } from "./bus.js";
import { InvalidArgumentError } from "./errors.js";

/**
 * Throws unless `bus` (an option) is undefined or a Bus, checked where the option is given: one that is no
 * Bus was taken, and each use later threw "bus.register is not a function" (or twitter), naming nothing, in
 * the place of a class's construction, a wrapped call's result, or the error it threw.
 */
export function checkBusOption(argument: string, bus: unknown): void {
  if (bus === undefined) return;
  const candidate = bus as Partial<Bus> | null;
  if (typeof candidate?.register !== "function" || typeof candidate.twitter !== "function") {
    throw new InvalidArgumentError(argument, bus, "a Bus");
  }
}
