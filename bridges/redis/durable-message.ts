import { describe } from "../../lib/errors.js";
import { checkJsonValue } from "../envelope.js";
import { InvalidEnvelopeError } from "../errors.js";

/** What a durable message is: a request, a reply to one, or the notice that one timed out. */
export type DurableKind = "message" | "reply" | "timeout";

/** A message received from a durable channel; answer it with `reply()` or finish it with `close()`. */
export interface DurableMessage<T = unknown> {
  /** Unique id (a UUID; a timeout notice is `<id of the message>/timeout`). */
  readonly id: string;
  readonly kind: DurableKind;
  /** Channel that sent it (for a timeout notice: the channel the lost message was sent to). */
  readonly from: string;
  /** Channel it was sent to. */
  readonly to: string;
  /** The content sent (for a timeout notice: the content of the message that timed out). */
  readonly content: T;
  /** For a reply or a timeout notice: the id of the message it answers. */
  readonly inReplyTo: string | undefined;
  /** When Redis recorded it, in ms of Redis's clock. */
  readonly sentAt: number;
  /** When it times out, in ms of Redis's clock; `undefined` for none. */
  readonly deadline: number | undefined;
  /** How many receivers have taken it (more than 1 after a receiver died holding it). */
  readonly attempts: number;
}

const KINDS = new Set<string>(["message", "reply", "timeout"]);

/**
 * Rebuilds a message from the list a take returns (`[id, kind, from, to, content, inReplyTo, sent,
 * deadline, attempts]`, see durable-scripts.ts), validating what Redis gave back.
 */
export function parseDurableMessage(fields: unknown): DurableMessage {
  if (!Array.isArray(fields) || fields.length !== 9)
    throw new InvalidEnvelopeError("durable record", fields, "a list of 9 fields");
  const [id, kind, from, to, text, inReplyTo, sent, deadline, attempts] = fields as unknown[];
  if (typeof id !== "string") throw new InvalidEnvelopeError("durable record.id", id, "a string");
  // Every later report names the record, so that it can be found in Redis.
  const record = `durable record ${describe(id)}`;
  for (const [name, value] of [
    ["kind", kind],
    ["from", from],
    ["to", to],
    ["content", text],
  ] as const) {
    if (typeof value !== "string") throw new InvalidEnvelopeError(`${record}.${name}`, value, "a string");
  }
  if (!KINDS.has(kind as string)) throw new InvalidEnvelopeError(`${record}.kind`, kind, '"message", "reply" or "timeout"');
  let content: unknown;
  try {
    content = JSON.parse(text as string);
  } catch {
    throw new InvalidEnvelopeError(`${record}.content`, text, "JSON");
  }
  checkJsonValue(content, `${record}.content`, 0);
  const due = Number(deadline);
  return {
    id: id as string,
    kind: kind as DurableKind,
    from: from as string,
    to: to as string,
    content,
    inReplyTo: typeof inReplyTo === "string" && inReplyTo !== "" ? inReplyTo : undefined,
    sentAt: Number(sent),
    deadline: due > 0 ? due : undefined,
    attempts: Number(attempts),
  };
}
