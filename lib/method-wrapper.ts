import { isStandardContext } from "./decorator-context.js";
import { InvalidArgumentError } from "./errors.js";
import { refuseClassConstructor } from "./class-constructor.js";
import { refuseGeneratorFunction } from "./generator-function.js";

type AnyFunction = (this: never, ...args: never[]) => unknown;

/** Wraps a function, or decorates a method in either decorator mode (what `autoTwitter`/`twitterException` return). */
export interface FunctionWrapper {
  <F extends AnyFunction>(fn: F, context?: ClassMethodDecoratorContext): F;
  (prototype: object, key: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor;
}

/** Builds a FunctionWrapper from `wrap`, which returns the replacement of a function. */
export function functionWrapper(
  label: string,
  wrap: (fn: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown,
): FunctionWrapper {
  const checked = (fn: unknown): ((...args: unknown[]) => unknown) => {
    if (typeof fn !== "function") throw new InvalidArgumentError(`${label} target`, fn, "a function or method");
    // A generator's body runs after the call returns, at each next(): autoTwitter sent its exit before the
    // body ran, and what it threw escaped twitterException unreported.
    refuseGeneratorFunction(`${label} target`, fn);
    refuseClassConstructor(`${label} target`, fn); // it would be called without new
    return wrap(fn as (...args: unknown[]) => unknown);
  };
  return ((target: unknown, keyOrContext?: unknown, descriptor?: PropertyDescriptor): unknown => {
    if (keyOrContext === undefined || isStandardContext(keyOrContext)) return checked(target);
    if (descriptor === undefined) throw new InvalidArgumentError(`${label} target`, keyOrContext, "a method");
    return { ...descriptor, value: checked(descriptor.value) };
  }) as FunctionWrapper;
}
