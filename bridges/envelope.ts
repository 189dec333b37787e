import { parseIdentifier } from "../lib/identifier.js";
import { isPlainObject, NO_KWARGS } from "../lib/kwargs.js";
import { type Message, rebuiltMessage, wireTextOf } from "../lib/message.js";
import { InvalidEnvelopeError } from "./errors.js";

/**
 * A message as it travels on every wire (JSON). `v` is the envelope version.
 * @example { "v": 1, "id": "app:log", "args": ["hi"], "kwargs": {}, "messageId": "b1/1", "timestamp": 1, "hops": ["b1"] }
 */
export interface Envelope {
  v: 1;
  id: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  messageId: string;
  timestamp: number;
  hops: string[];
  replyTo?: string;
  inReplyTo?: string;
  /** Bus id an answer (or balanced request) is addressed to. */
  to?: string;
}

/** Limits checked on every envelope that comes in. */
export const ENVELOPE_LIMITS = Object.freeze({
  identifierLength: 1024,
  messageIdLength: 256,
  hops: 64,
  depth: 64,
});

/**
 * The key of `value` that could reach a prototype if it were ever merged into an object, or undefined:
 * `__proto__`, or `constructor` holding an object with a `prototype` key (the line fastify's
 * secure-json-parse draws). `constructor` and `prototype` alone are ordinary data.
 */
export function prototypeKey(value: object): string | undefined {
  if (Object.hasOwn(value, "__proto__")) return "__proto__";
  if (Object.hasOwn(value, "constructor")) {
    const held = (value as Record<string, unknown>).constructor;
    if (typeof held === "object" && held !== null && Object.hasOwn(held, "prototype")) return "constructor.prototype";
  }
  return undefined;
}

/** The envelope of a message, ready for `JSON.stringify`. */
export function toEnvelope(message: Message): Envelope {
  const envelope: Envelope = {
    v: 1,
    id: message.id,
    args: message.args as unknown[],
    kwargs: message.kwargs as Record<string, unknown>,
    messageId: message.messageId,
    timestamp: message.timestamp,
    hops: message.hops as string[],
  };
  if (message.replyTo !== undefined) envelope.replyTo = message.replyTo;
  if (message.inReplyTo !== undefined) envelope.inReplyTo = message.inReplyTo;
  if (message.to !== undefined) envelope.to = message.to;
  return envelope;
}

// Gives a plain object private fields: a derived class's fields land on whatever its base constructor
// returns. The envelope stays a plain object (JSON.stringify, deepEqual and isPlainObject see no change);
// a WeakMap would cost ~160 ns a message against ~15.
class Returns {
  constructor(object: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the point, see above
    return object;
  }
}

// The wire text of a message (its envelope's JSON) on the envelope built from it, with the message:
// envelopesJson takes the text only while every field of the envelope is still the message's.
class WireText extends Returns {
  readonly #message: Message;
  readonly #text: string;

  constructor(envelope: Envelope, message: Message, text: string) {
    super(envelope);
    this.#message = message;
    this.#text = text;
  }

  static of(e: Envelope): string | undefined {
    if (!(#text in e)) return undefined;
    const stamped = e as unknown as WireText;
    const m = stamped.#message;
    return e.id === m.id &&
      e.args === m.args &&
      e.kwargs === m.kwargs &&
      e.messageId === m.messageId &&
      e.timestamp === m.timestamp &&
      e.hops === m.hops &&
      e.replyTo === m.replyTo &&
      e.inReplyTo === m.inReplyTo &&
      e.to === m.to &&
      e.v === 1
      ? stamped.#text
      : undefined;
  }
}

/**
 * `toEnvelope`, carrying the wire text a link kept for the message (see `unsendableWriting` in
 * bridges/sendable.ts) so that `envelopesJson` does not write it again.
 */
export function toWireEnvelope(message: Message): Envelope {
  const envelope = toEnvelope(message);
  const text = wireTextOf(message);
  if (text !== undefined) new WireText(envelope, message, text);
  return envelope;
}

/**
 * `JSON.stringify(envelopes)` for envelopes as `toEnvelope` builds them (the same text), written field by
 * field: the fields a bus repeats from message to message (identifier, hops, reply identifier, asker,
 * empty kwargs) are written once and reused, the rest with JSON.stringify. An envelope a link built
 * (`toWireEnvelope`) brings its text, written when the message was queued. Every batch a link sends over
 * a stream passes here.
 */
export function envelopesJson(envelopes: readonly Envelope[]): string {
  let json = "[";
  for (let i = 0; i < envelopes.length; i++) {
    const e = envelopes[i] as Envelope;
    if (i > 0) json += ",";
    const wire = WireText.of(e);
    if (wire !== undefined) {
      json += wire;
      continue;
    }
    // A toJSON of args or kwargs themselves is called with its key, and may drop the field (undefined):
    // JSON.stringify writes such an envelope as it alone can.
    if (hasToJson(e.args) || hasToJson(e.kwargs)) {
      json += JSON.stringify(e);
      continue;
    }
    const kwargs = e.kwargs === NO_KWARGS ? "{}" : JSON.stringify(e.kwargs);
    json += envelopeJson(e, JSON.stringify(e.args), kwargs);
  }
  return `${json}]`;
}

/**
 * The JSON of `e` (an envelope as `toEnvelope` builds it, whose args and kwargs have no toJSON of their
 * own), given those of its args and kwargs.
 */
export function envelopeJson(
  e: Pick<Message, "id" | "messageId" | "timestamp" | "hops" | "replyTo" | "inReplyTo" | "to">,
  argsJson: string,
  kwargsJson: string,
): string {
  let json = `{"v":1,"id":${ids.json(e.id)},"args":${argsJson},"kwargs":${kwargsJson},"messageId":${stringJson(e.messageId)},"timestamp":${jsonNumber(e.timestamp)},"hops":${hopsJson(e.hops)}`;
  if (e.replyTo !== undefined) json += `,"replyTo":${replyTos.json(e.replyTo)}`;
  if (e.inReplyTo !== undefined) json += `,"inReplyTo":${stringJson(e.inReplyTo)}`;
  if (e.to !== undefined) json += `,"to":${tos.json(e.to)}`;
  return `${json}}`;
}

// Characters JSON.stringify writes escaped (surrogates: a lone one is escaped; any sends it the slow way).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

// JSON.stringify of a string, without its call (and the copy it makes) for one that needs no escape:
// messageIds are mostly `<bus id>/<number>`.
function stringJson(text: string): string {
  return ESCAPED.test(text) ? JSON.stringify(text) : `"${text}"`;
}

// The JSON of the last string it was asked for, kept (a string's JSON depends on its text only).
class LastStringJson {
  #text: string | undefined;
  #json = "";

  json(text: string): string {
    if (text !== this.#text) {
      this.#json = JSON.stringify(text);
      this.#text = text;
    }
    return this.#json;
  }
}
const ids = new LastStringJson();
const replyTos = new LastStringJson();
const tos = new LastStringJson();

// A frozen hops array cannot change: its JSON is kept by identity (a bus sends every message it makes
// with the same one). Others are written afresh.
let lastHops: readonly string[] | undefined;
let lastHopsJson = "";
function hopsJson(hops: readonly string[]): string {
  if (hops === lastHops) return lastHopsJson;
  const json = JSON.stringify(hops);
  if (Object.isFrozen(hops)) {
    lastHops = hops;
    lastHopsJson = json;
  }
  return json;
}

/** Whether JSON.stringify would call a `toJSON` of `value` itself. */
export function hasToJson(value: object): boolean {
  return typeof (value as { toJSON?: unknown }).toJSON === "function";
}

// What JSON.stringify writes for a number, without its call.
function jsonNumber(n: number): string {
  return Number.isFinite(n) ? `${n}` : "null";
}

/**
 * Validates a decoded envelope (this is the security boundary) and rebuilds the frozen message.
 * @throws InvalidEnvelopeError naming the offending field; InvalidIdentifierError for a bad `id`.
 */
export function fromEnvelope(value: unknown): Message {
  if (!isPlainObject(value)) throw new InvalidEnvelopeError("envelope", value, "a JSON object");
  if (value.v !== 1) throw new InvalidEnvelopeError("v", value.v, "1");
  const id = checkString(value, "id", ENVELOPE_LIMITS.identifierLength);
  const messageId = checkString(value, "messageId", ENVELOPE_LIMITS.messageIdLength);
  const args = value.args;
  const kwargs = value.kwargs;
  if (!Array.isArray(args)) throw new InvalidEnvelopeError("args", args, "an array");
  if (!isPlainObject(kwargs)) throw new InvalidEnvelopeError("kwargs", kwargs, "a JSON object");
  checkJsonValue(args, "args", 0);
  checkJsonValue(kwargs, "kwargs", 0);
  const timestamp = value.timestamp;
  if (typeof timestamp !== "number" || !Number.isFinite(timestamp)) {
    throw new InvalidEnvelopeError("timestamp", timestamp, "a finite number (ms since the epoch)");
  }
  const hops = value.hops;
  if (!Array.isArray(hops) || hops.length > ENVELOPE_LIMITS.hops) {
    throw new InvalidEnvelopeError("hops", hops, `an array of at most ${ENVELOPE_LIMITS.hops} bus ids`);
  }
  for (let i = 0; i < hops.length; i++) {
    const hop: unknown = hops[i];
    if (typeof hop !== "string" || hop.length === 0 || hop.length > ENVELOPE_LIMITS.messageIdLength) {
      throw new InvalidEnvelopeError("hops[]", hop, "a non-empty bus id string");
    }
  }
  const replyTo = optionalString(value, "replyTo", ENVELOPE_LIMITS.identifierLength);
  const inReplyTo = optionalString(value, "inReplyTo", ENVELOPE_LIMITS.messageIdLength);
  const to = optionalString(value, "to", ENVELOPE_LIMITS.messageIdLength);
  // Every field is checked: rebuilt without createMessage's init object and second checks.
  return rebuiltMessage(parseIdentifier(id), args, kwargs, messageId, timestamp, hops as string[], replyTo, inReplyTo, to);
}

/**
 * Checks that a decoded JSON value holds no key that could reach a prototype (see {@link prototypeKey}),
 * no number JSON cannot carry exactly (NaN, ±Infinity) and is not nested deeper than the limit. `path`
 * names the place for the error.
 */
export function checkJsonValue(value: unknown, path: string, depth: number): void {
  // The walk that names the offending place builds a path string per value: run it only on a failure.
  if (!isCleanJson(value, depth)) locateUncleanJson(value, path, depth);
}

// The rules of checkJsonValue, without building paths (every envelope received or sent passes here).
function isCleanJson(value: unknown, depth: number): boolean {
  if (depth > ENVELOPE_LIMITS.depth) return false;
  if (typeof value !== "object") return typeof value !== "bigint" && (typeof value !== "number" || Number.isFinite(value));
  if (value === null) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isCleanJson(value[i], depth + 1)) return false;
    return true;
  }
  if (prototypeKey(value) !== undefined) return false;
  // for-in, not Object.keys: no array per object (the own keys are the same: inherited ones are skipped).
  for (const key in value) {
    if (Object.hasOwn(value, key) && !isCleanJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

// Walks an unclean value again, naming the first offending place in the error.
function locateUncleanJson(value: unknown, path: string, depth: number): void {
  if (depth > ENVELOPE_LIMITS.depth)
    throw new InvalidEnvelopeError(path, "(nested too deep)", `at most ${ENVELOPE_LIMITS.depth} levels`);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new InvalidEnvelopeError(path, value, "a finite number (JSON carries no NaN or Infinity)");
    return;
  }
  if (typeof value === "bigint")
    throw new InvalidEnvelopeError(path, value, "a JSON value (JSON carries no BigInt: send it as a string)");
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) locateUncleanJson(value[i], `${path}[${i}]`, depth + 1);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  const bad = prototypeKey(value);
  if (bad !== undefined)
    throw new InvalidEnvelopeError(`${path}.${bad}`, bad, "no __proto__ key, and no constructor holding a prototype key");
  for (const key of Object.keys(value)) locateUncleanJson((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
}

function checkString(value: Record<string, unknown>, field: string, max: number): string {
  const text = value[field];
  if (typeof text !== "string" || text.length === 0 || text.length > max) {
    throw new InvalidEnvelopeError(field, text, `a non-empty string of at most ${max} characters`);
  }
  return text;
}

function optionalString(value: Record<string, unknown>, field: string, max: number): string | undefined {
  return value[field] === undefined ? undefined : checkString(value, field, max);
}
