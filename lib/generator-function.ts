import { InvalidArgumentError } from "./errors.js";

/**
 * Throws when `fn` is a generator function (sync or async): as a follower it is called, returns an
 * iterator nobody reads, and its body never runs, so every message it was given is silently lost.
 */
export function refuseGeneratorFunction(argument: string, fn: unknown): void {
  const tag = Object.prototype.toString.call(fn);
  if (tag === "[object GeneratorFunction]" || tag === "[object AsyncGeneratorFunction]") {
    throw new InvalidArgumentError(argument, fn, "a function or method whose body runs when called (not a generator)");
  }
}
