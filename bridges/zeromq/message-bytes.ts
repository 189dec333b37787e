import { InvalidArgumentError } from "../../lib/errors.js";

/** Default largest batch body a BrokerLink sends and a Broker takes, in bytes: 16 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1_048_576;

/** Smallest `maxMessageBytes` a broker or link takes: 1 KiB. */
export const MIN_MESSAGE_BYTES = 1_024;

/**
 * Checks a broker's or link's `maxMessageBytes`: an integer from 1 KiB up.
 * @throws InvalidArgumentError naming the option and the value.
 */
export function checkMaxMessageBytes(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < MIN_MESSAGE_BYTES) {
    throw new InvalidArgumentError("maxMessageBytes", value, `an integer number of bytes >= ${MIN_MESSAGE_BYTES}`);
  }
  return value;
}
