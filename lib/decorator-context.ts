import { InvalidArgumentError } from "./errors.js";

/** Whether a decorator's second argument is a TC39 (standard) decorator context rather than a legacy key. */
export function isStandardContext(value: unknown): value is DecoratorContext {
  return typeof value === "object" && value !== null && "kind" in value && "name" in value;
}

/**
 * Throws unless a legacy (experimentalDecorators) member decorator was given a method: a getter or setter
 * comes with a descriptor without `value`, a field with none.
 */
export function checkLegacyMethod(target: string, key: string | symbol, descriptor: PropertyDescriptor | undefined, expected: string): void {
  if (typeof descriptor?.value !== "function") throw new InvalidArgumentError(target, key, expected);
}
