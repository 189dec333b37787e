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

/**
 * {@link refuseGeneratorFunction} for the method `object[key]`, found as a value on the object or its
 * prototypes. A getter is not called: it may read what a subclass's constructor has not yet set.
 */
export function refuseGeneratorMethod(argument: string, object: object, key: string | symbol): void {
  for (let holder: object | null = object; holder !== null; holder = Object.getPrototypeOf(holder)) {
    const descriptor = Object.getOwnPropertyDescriptor(holder, key);
    if (descriptor === undefined) continue;
    refuseGeneratorFunction(argument, descriptor.value);
    return;
  }
}

/**
 * Throws when `result`, what a follower method returned, is a generator's iterator: the method was replaced
 * by a generator after registration checked it (an instance field, a getter such as `@autobind`'s), and its
 * body never runs. Reported per message rather than lost without a word.
 */
export function refuseGeneratorResult(argument: string, method: unknown, result: unknown): void {
  if (typeof result !== "object" || result === null) return;
  const tag = Object.prototype.toString.call(result);
  if (tag === "[object Generator]" || tag === "[object AsyncGenerator]") {
    throw new InvalidArgumentError(argument, method, "a method whose body runs when called (it returned a generator's iterator)");
  }
}
