import { InvalidEnvelopeError } from "../errors.js";
import { checkJsonValue } from "../envelope.js";

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

/** Rebuilds a message from the flat field list a TAKE script returns, validating what Redis gave back. */
export function parseDurableMessage(fields: unknown): DurableMessage {
  if (!Array.isArray(fields)) throw new InvalidEnvelopeError("durable record", fields, "a list of fields");
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(String(fields[i]), String(fields[i + 1]));
  const get = (field: string): string => {
    const value = map.get(field);
    if (value === undefined) throw new InvalidEnvelopeError(`durable record.${field}`, undefined, "a value");
    return value;
  };
  const kind = get("kind");
  if (!KINDS.has(kind)) throw new InvalidEnvelopeError("durable record.kind", kind, '"message", "reply" or "timeout"');
  let content: unknown;
  try {
    content = JSON.parse(get("content"));
  } catch {
    throw new InvalidEnvelopeError("durable record.content", get("content"), "JSON");
  }
  checkJsonValue(content, "content", 0);
  const inReplyTo = map.get("inReplyTo");
  const deadline = Number(get("deadline"));
  return {
    id: get("id"),
    kind: kind as DurableKind,
    from: get("from"),
    to: get("to"),
    content,
    inReplyTo: inReplyTo === undefined || inReplyTo === "" ? undefined : inReplyTo,
    sentAt: Number(get("sent")),
    deadline: deadline > 0 ? deadline : undefined,
    attempts: Number(get("attempts")),
  };
}
