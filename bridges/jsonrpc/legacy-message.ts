import { InvalidArgumentError } from "../../lib/errors.js";
import { isPlainObject } from "../../lib/kwargs.js";
import { createMessage, type Message } from "../../lib/message.js";
import { checkJsonValue } from "../envelope.js";

/**
 * Rebuilds a message sent in the berryMQ 0.3 form (`identifier`, `args`, `kwargs`), which carries no
 * messageId or hops: the receiving server gives it both.
 * @throws InvalidIdentifierError, InvalidArgumentError or InvalidEnvelopeError naming the bad value.
 */
export function fromLegacy(identifier: unknown, args: unknown, kwargs: unknown, messageId: string, hops: string[]): Message {
  if (typeof identifier !== "string") throw new InvalidArgumentError("identifier", identifier, 'a string such as "app:log"');
  if (!Array.isArray(args)) throw new InvalidArgumentError("args", args, "an array");
  const keywords = kwargs ?? {};
  if (!isPlainObject(keywords)) throw new InvalidArgumentError("kwargs", kwargs, "a JSON object");
  checkJsonValue(args, "args", 0);
  checkJsonValue(keywords, "kwargs", 0);
  return createMessage({ identifier, args, kwargs: keywords, messageId, hops });
}

/** A message in the berryMQ 0.3 `get` answer form: `[identifier, args, kwargs]`. */
export function toLegacy(message: Message): [string, unknown[], Record<string, unknown>] {
  return [message.id, message.args as unknown[], message.kwargs as Record<string, unknown>];
}
