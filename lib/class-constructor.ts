import { InvalidArgumentError } from "./errors.js";

// `class` syntax: its source starts with the keyword, then a name, `extends` or the body (a method named
// `class` reads `class(`). Read with Function.prototype.toString, which no Proxy trap runs for.
const CLASS_SOURCE = /^class(?:\s+|\s*\/\*[\s\S]*?\*\/\s*)*(?:[^\s(/]|\/\/)/;

/**
 * Throws when `fn` is a class: called as a follower, guard or wrapped function it throws "Class constructor
 * ... cannot be invoked without 'new'" at every message, reported each time though the mistake was made once.
 */
export function refuseClassConstructor(argument: string, fn: unknown): void {
  if (typeof fn !== "function" || !CLASS_SOURCE.test(Function.prototype.toString.call(fn))) return;
  // A class's `prototype` cannot be reassigned; a function's can (and a method has none).
  if (Object.getOwnPropertyDescriptor(fn, "prototype")?.writable !== false) return;
  throw new InvalidArgumentError(argument, fn, "a function to call (a class cannot be called without new)");
}
