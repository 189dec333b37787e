import { NO_KWARGS } from "../lib/kwargs.js";
import { type Envelope, hasToJson, jsonNumber, LastStringJson } from "./envelope.js";
import { InvalidEnvelopeError } from "./errors.js";

/**
 * An envelope as a positional JSON array, for wires that carry many small messages (the ZeroMQ broker's
 * batches): `[id, args, kwargs, messageId, timestamp, hops?, replyTo?, inReplyTo?, to?]`. `hops` is left
 * out (or `0` when a later entry follows) when it is just the origin bus named in the messageId
 * (`"<origin>/<n>"`, what a bus names its own messages); `0` stands for an absent optional string, and
 * absent trailing entries are left out. No field names and one bus id instead of two: ~200 bytes for the
 * bench's message instead of ~300, ~25–30 % less to stringify and parse.
 * @example ["app:log", ["hi"], {}, "b1/1", 1733443200000]
 */
export type CompactEnvelope = [
  id: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  messageId: string,
  timestamp: number,
  hops?: string[] | 0,
  replyTo?: string | 0,
  inReplyTo?: string | 0,
  to?: string | 0,
];

/** Entries of a compact envelope: the five fields every message has, up to four more. */
const REQUIRED = 5;
const MOST = 9;

/** The compact form of an envelope, ready for `JSON.stringify`. */
export function toCompactEnvelope(envelope: Envelope): CompactEnvelope {
  const compact: CompactEnvelope = [envelope.id, envelope.args, envelope.kwargs, envelope.messageId, envelope.timestamp];
  const { replyTo, inReplyTo, to } = envelope;
  const tail = to !== undefined ? 4 : inReplyTo !== undefined ? 3 : replyTo !== undefined ? 2 : 0;
  const ownHops = isOriginOnly(envelope.hops, envelope.messageId);
  if (tail === 0 && ownHops) return compact;
  compact.push(ownHops ? 0 : envelope.hops);
  if (tail >= 2) compact.push(replyTo ?? 0);
  if (tail >= 3) compact.push(inReplyTo ?? 0);
  if (tail >= 4) compact.push(to ?? 0);
  return compact;
}

/**
 * `JSON.stringify(envelopes.map(toCompactEnvelope))` (the same text), written field by field as
 * `envelopesJson` writes the named form: the identifier, the reply identifier and the asker a bus repeats
 * from message to message are written once and reused. A PeerLink's batches on a version 3 stream pass here.
 */
export function compactEnvelopesJson(envelopes: readonly Envelope[]): string {
  let json = "[";
  for (let i = 0; i < envelopes.length; i++) {
    const e = envelopes[i] as Envelope;
    if (i > 0) json += ",";
    // A toJSON of args or kwargs themselves is called with its key: JSON.stringify writes such an
    // envelope as it alone can.
    if (hasToJson(e.args) || hasToJson(e.kwargs)) {
      json += JSON.stringify(toCompactEnvelope(e));
      continue;
    }
    // Few, long pieces (each `+=` is a rope node); those a bus repeats are kept whole.
    json += heads.json(e.id);
    json += argsJson(e.args);
    json += e.kwargs === NO_KWARGS ? ",{}," : `,${JSON.stringify(e.kwargs)},`;
    json += stringJson(e.messageId);
    json += timestampJson(e.timestamp);
    const { replyTo, inReplyTo, to } = e;
    const tail = to !== undefined ? 4 : inReplyTo !== undefined ? 3 : replyTo !== undefined ? 2 : 0;
    const hops = isOriginOnly(e.hops, e.messageId) ? ",0" : `,${JSON.stringify(e.hops)}`;
    if (tail === 0) json += hops === ",0" ? "]" : `${hops}]`;
    // A request (`ask`): its hops and reply identifier in one kept piece.
    else if (tail === 2) json += hops === ",0" ? requests.json(replyTo as string) : `${hops},${JSON.stringify(replyTo)}]`;
    else {
      json += hops;
      json += replyTo === undefined ? ",0" : `,${JSON.stringify(replyTo)}`;
      json += inReplyTo === undefined ? ",0" : `,${stringJson(inReplyTo)}`;
      json += tail === 4 ? tos.json(to as string) : "]";
    }
  }
  return `${json}]`;
}
const heads = new LastStringJson("[", ",");

// `JSON.stringify(args)` (the same text): args of finite numbers only (a request's operands, an answer's
// number: every message of a round trip at one request in flight, in the bench) are written here, with
// no call into JSON.stringify (~0.1 µs a message, hot). Anything else, a hole included, goes to it.
function argsJson(args: readonly unknown[]): string {
  let json = "[";
  for (let i = 0; i < args.length; i++) {
    const value = args[i];
    // A finite number's text is the same in JSON.stringify and a template (-0 is "0" in both); NaN and
    // ±Infinity (null in JSON; unsendable() refuses them before a link writes them) go to JSON.stringify.
    if (typeof value !== "number" || !Number.isFinite(value)) return JSON.stringify(args);
    json += i === 0 ? `${value}` : `,${value}`;
  }
  return `${json}]`;
}
const requests = new LastStringJson(",0,", "]");
const tos = new LastStringJson(",", "]");

// `JSON.stringify(text)` (the same text): a string of printable ASCII without `"` or `\` (every messageId
// a bus makes from an id of such characters: `<bus>/<n><8 base64url>`) is quoted here, with no call into
// JSON.stringify; any other (an escape or a non-ASCII character to write) goes to it.
function stringJson(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return JSON.stringify(text);
  }
  return `"${text}"`;
}

// `,<timestamp>`, kept for the last one written (a bus's messages of the same millisecond share it).
let lastTimestamp = Number.NaN;
let lastTimestampJson = "";
function timestampJson(timestamp: number): string {
  if (timestamp !== lastTimestamp) {
    lastTimestampJson = `,${jsonNumber(timestamp)}`;
    lastTimestamp = timestamp;
  }
  return lastTimestampJson;
}

/**
 * A decoded wire value as the envelope object `fromEnvelope` validates: a compact array is spread into its
 * named fields (nothing is checked here but its shape: `fromEnvelope` checks every field, as for any
 * envelope); anything else (an envelope object as older senders write it, or garbage) is returned as it
 * is, for `fromEnvelope` to take or refuse.
 * @throws InvalidEnvelopeError for an array of the wrong length, a `0` where an entry may not be
 * absent, or hops left out of a messageId that names no origin.
 */
export function fromCompactEnvelope(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const length = value.length;
  if (length < REQUIRED || length > MOST) {
    throw new InvalidEnvelopeError(
      "envelope",
      `(an array of ${length})`,
      `a compact envelope array of ${REQUIRED} to ${MOST} entries`,
    );
  }
  const messageId: unknown = value[3];
  const hops: unknown = length > REQUIRED && value[5] !== 0 ? value[5] : originHops(messageId);
  return {
    v: 1,
    id: value[0],
    args: value[1],
    kwargs: value[2],
    messageId,
    timestamp: value[4],
    hops,
    replyTo: optional(value, 6, "replyTo"),
    inReplyTo: optional(value, 7, "inReplyTo"),
    to: optional(value, 8, "to"),
  };
}

// `[origin]` when the messageId is `<origin>/<n>`; otherwise the compact form must carry the hops.
function isOriginOnly(hops: readonly string[], messageId: string): boolean {
  if (hops.length !== 1) return false;
  const origin = hops[0] as string;
  return (
    origin.length > 0 &&
    messageId.length > origin.length + 1 &&
    messageId.lastIndexOf("/") === origin.length &&
    messageId.startsWith(origin)
  );
}

function originHops(messageId: unknown): unknown {
  // A bad messageId is fromEnvelope's to name (it checks it before hops).
  if (typeof messageId !== "string") return [];
  const slash = messageId.lastIndexOf("/");
  if (slash <= 0)
    throw new InvalidEnvelopeError("hops", "(left out)", 'the hops, or a messageId "<origin bus id>/<n>" naming them');
  return [messageId.slice(0, slash)];
}

// An absent optional string is `0` (or left out at the end); `undefined` is what fromEnvelope takes as absent.
function optional(value: unknown[], at: number, field: string): unknown {
  const entry: unknown = value[at];
  if (entry === 0 || at >= value.length) return undefined;
  if (entry === undefined || entry === null) throw new InvalidEnvelopeError(field, entry, "a string, or 0 for none");
  return entry;
}
