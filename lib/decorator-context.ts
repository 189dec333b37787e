import { InvalidArgumentError } from "./errors.js";

/** Whether a decorator's second argument is a TC39 (standard) decorator context rather than a legacy key. */
export function isStandardContext(value: unknown): value is DecoratorContext {
  return typeof value === "object" && value !== null && "kind" in value && "name" in value;
}

/**
 * Throws unless a legacy (experimentalDecorators) member decorator was given a method, or a getter: a
 * setter comes with a descriptor without `value` or `get`, a field with none. A getter is what a legacy
 * method decorator such as `@autobind` (core-decorators, autobind-decorator) leaves of a method below it,
 * and its value is the bound method: `@following("a:b") @autobind handle()` works as it did before r30.
 */
export function checkLegacyMethod(target: string, key: string | symbol, descriptor: PropertyDescriptor | undefined, expected: string): void {
  if (typeof descriptor?.value !== "function" && typeof descriptor?.get !== "function") throw new InvalidArgumentError(target, key, expected);
}
