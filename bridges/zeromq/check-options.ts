import { InvalidArgumentError } from "../../lib/errors.js";

/** Returns `value` when it is an integer >= 1. @throws InvalidArgumentError naming the option. */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(name, value, "an integer >= 1");
  return value;
}

/** Returns `value` when it is a TCP port (0 lets the OS pick). @throws InvalidArgumentError naming the option. */
export function portNumber(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new InvalidArgumentError(name, value, "a port number 0-65535");
  return value;
}
