import { types } from "node:util";
import { parseIdentifier } from "../lib/identifier.js";
import { isPlainObject, NO_KWARGS } from "../lib/kwargs.js";
import { type Message, rebuiltMessage } from "../lib/message.js";
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

/**
 * `JSON.stringify(envelopes)` for envelopes as `toEnvelope` builds them (the same text), written field by
 * field: the fields a bus repeats from message to message (identifier, hops, reply identifier, asker,
 * empty kwargs) are written once and reused, the rest with JSON.stringify. Every batch a link sends over
 * a stream passes here.
 */
export function envelopesJson(envelopes: readonly Envelope[]): string {
  let json = "[";
  for (let i = 0; i < envelopes.length; i++) {
    const e = envelopes[i] as Envelope;
    if (i > 0) json += ",";
    // A toJSON of args or kwargs themselves is called with its key, and may drop the field (undefined):
    // JSON.stringify writes such an envelope as it alone can.
    if (hasToJson(e.args) || hasToJson(e.kwargs)) {
      json += JSON.stringify(e);
      continue;
    }
    // Few, long pieces: each `+=` is a rope node (32 bytes), and the pieces that repeat from message to
    // message (identifier, timestamp and hops) are kept whole.
    json += heads.json(e.id);
    json += JSON.stringify(e.args);
    json += e.kwargs === NO_KWARGS ? ',"kwargs":{},"messageId":' : `,"kwargs":${JSON.stringify(e.kwargs)},"messageId":`;
    json += JSON.stringify(e.messageId);
    if (e.replyTo === undefined && e.inReplyTo === undefined && e.to === undefined) {
      json += tailJson(e.timestamp, e.hops, true);
      continue;
    }
    json += tailJson(e.timestamp, e.hops, false);
    if (e.replyTo !== undefined) json += replyTos.json(e.replyTo);
    if (e.inReplyTo !== undefined) json += `,"inReplyTo":${JSON.stringify(e.inReplyTo)}`;
    if (e.to !== undefined) json += tos.json(e.to);
    json += "}";
  }
  return `${json}]`;
}

/**
 * The JSON of the last two strings it was asked for, between a fixed text before and after, kept (a
 * string's JSON depends on its text only). Two: a process that both asks and answers, or relays, sends
 * two identifiers in turn.
 */
export class LastStringJson {
  #text: string | undefined;
  #json = "";
  #otherText: string | undefined;
  #otherJson = "";

  constructor(
    private readonly before: string,
    private readonly after: string,
  ) {}

  json(text: string): string {
    if (text === this.#text) return this.#json;
    if (text !== this.#otherText) {
      this.#otherText = text;
      this.#otherJson = `${this.before}${JSON.stringify(text)}${this.after}`;
    }
    // The one just used becomes the first tried.
    const json = this.#otherJson;
    this.#otherText = this.#text;
    this.#otherJson = this.#json;
    this.#text = text;
    this.#json = json;
    return json;
  }
}
const heads = new LastStringJson('{"v":1,"id":', ',"args":');
const replyTos = new LastStringJson(',"replyTo":', "");
const tos = new LastStringJson(',"to":', "");

// `,"timestamp":…,"hops":…` with and without the envelope's closing brace, kept for the last two pairs
// of a timestamp and a frozen hops array (a bus's messages of the same millisecond share both; two: a
// process that asks and answers, or relays, sends two hops arrays in turn). A frozen array cannot
// change: it is known by identity. Others are written afresh.
interface Tail {
  timestamp: number;
  hops: readonly string[] | undefined;
  open: string;
  closed: string;
}
let tail: Tail = { timestamp: Number.NaN, hops: undefined, open: "", closed: "" };
let otherTail: Tail = { timestamp: Number.NaN, hops: undefined, open: "", closed: "" };
function tailJson(timestamp: number, hops: readonly string[], closed: boolean): string {
  if (timestamp !== tail.timestamp || hops !== tail.hops) {
    if (timestamp !== otherTail.timestamp || hops !== otherTail.hops) {
      const open = `,"timestamp":${jsonNumber(timestamp)},"hops":${JSON.stringify(hops)}`;
      if (!Object.isFrozen(hops)) return closed ? `${open}}` : open;
      // The older entry is rewritten in place: no object a message.
      otherTail.timestamp = timestamp;
      otherTail.hops = hops;
      otherTail.open = open;
      otherTail.closed = `${open}}`;
    }
    const used = otherTail;
    otherTail = tail;
    tail = used;
  }
  return closed ? tail.closed : tail.open;
}

/** Whether JSON.stringify would call a `toJSON` of the value itself. */
export function hasToJson(value: object): boolean {
  return typeof (value as { toJSON?: unknown }).toJSON === "function";
}

// What JSON.stringify writes for a number, without its call (exported for the compact form's writer). A timestamp (ms since the epoch, ~1.8e12) is
// past V8's small integers, and printing such a double took ~180 ns; an integer from 10^6 to 2^53 is
// printed as two small-integer halves instead (~35 ns), the same digits.
export function jsonNumber(n: number): string {
  if (Number.isSafeInteger(n) && n >= MILLION) {
    const high = Math.floor(n / MILLION);
    const low = `${n - high * MILLION}`;
    return `${high}${SIX_ZEROS.slice(low.length)}${low}`;
  }
  return Number.isFinite(n) ? `${n}` : "null";
}
const MILLION = 1_000_000;
const SIX_ZEROS = "000000";

/**
 * Validates a decoded envelope (this is the security boundary) and rebuilds the frozen message.
 * @throws InvalidEnvelopeError naming the offending field; InvalidIdentifierError for a bad `id`.
 */
export function fromEnvelope(value: unknown): Message {
  if (!isPlainObject(value)) throw new InvalidEnvelopeError("envelope", value, "a JSON object");
  if (value.v !== 1) throw new InvalidEnvelopeError("v", value.v, "1");
  // Each field is read by name here and its value handed to the checks: a helper reading `value[field]`
  // made a keyed load that saw every field name and went megamorphic (~0.4 % of a process's CPU in a
  // round trip at one request in flight).
  const id = checkString(value.id, "id", ENVELOPE_LIMITS.identifierLength);
  const messageId = checkString(value.messageId, "messageId", ENVELOPE_LIMITS.messageIdLength);
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
  const replyTo = optionalString(value.replyTo, "replyTo", ENVELOPE_LIMITS.identifierLength);
  const inReplyTo = optionalString(value.inReplyTo, "inReplyTo", ENVELOPE_LIMITS.messageIdLength);
  const to = optionalString(value.to, "to", ENVELOPE_LIMITS.messageIdLength);
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
  if (typeof value !== "object") {
    // A function is an object to JSON.stringify: its toJSON, if any, is called too.
    if (typeof value === "function") return typeof (value as { toJSON?: unknown }).toJSON !== "function";
    return typeof value !== "bigint" && (typeof value !== "number" || Number.isFinite(value));
  }
  if (value === null) return true;
  // A toJSON decides what JSON.stringify writes (a Date's text; a throw would fail every resend of the
  // batch): the walk that names the place calls it and checks what it gives.
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
  const inner = depth + 1;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (!isCleanLeaf(item, inner) && !isCleanJson(item, inner)) return false;
    }
    return true;
  }
  if (prototypeKey(value) !== undefined) return false;
  // for-in, not Object.keys: no array per object (the own keys are the same: inherited ones are skipped).
  let empty = true;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    empty = false;
    const item = (value as Record<string, unknown>)[key];
    if (!isCleanLeaf(item, inner) && !isCleanJson(item, inner)) return false;
  }
  // JSON.stringify writes a boxed primitive as the primitive (a boxed BigInt throws, a boxed NaN is null):
  // the walk that names the place unboxes it. Only an object without keys of its own and not made by
  // Object is asked (the call costs ~15 ns; an empty kwargs passes on every message).
  return !empty || (value as { constructor?: unknown }).constructor === Object || !types.isBoxedPrimitive(value);
}

// A string or finite number within the depth limit: the common leaves, passed without a recursive call
// (~30 % of the walk of the bench's payload). False only means "not known clean here".
function isCleanLeaf(item: unknown, depth: number): boolean {
  return depth <= ENVELOPE_LIMITS.depth && (typeof item === "string" || (typeof item === "number" && Number.isFinite(item)));
}

// Walks an unclean value again, naming the first offending place in the error. `key` is what
// JSON.stringify would hand a toJSON here (an array element's index, a property's name); `written`: the
// value is what a toJSON gave, which JSON.stringify writes without calling its toJSON again.
function locateUncleanJson(value: unknown, path: string, depth: number, key = path, written = false): void {
  if (depth > ENVELOPE_LIMITS.depth)
    throw new InvalidEnvelopeError(path, "(nested too deep)", `at most ${ENVELOPE_LIMITS.depth} levels`);
  if (
    !written &&
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { toJSON?: unknown }).toJSON === "function"
  ) {
    let given: unknown;
    try {
      given = (value as { toJSON(key: string): unknown }).toJSON(key);
    } catch (error) {
      throw new InvalidEnvelopeError(
        path,
        value,
        `a value JSON can write (its toJSON threw: ${String((error as Error)?.message ?? error)})`,
      );
    }
    locateUncleanJson(given, path, depth, key, true);
    return;
  }
  if (typeof value === "object" && value !== null && types.isBoxedPrimitive(value)) {
    // JSON.stringify takes a box's BigInt from inside it, whatever its prototype's valueOf says.
    if (types.isBigIntObject(value))
      throw new InvalidEnvelopeError(path, value, "a JSON value (JSON carries no BigInt: send it as a string)");
    if (types.isNumberObject(value)) value = Number(value);
    else return; // a boxed string or boolean is written as its primitive; a boxed Symbol as {}
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new InvalidEnvelopeError(path, value, "a finite number (JSON carries no NaN or Infinity)");
    return;
  }
  if (typeof value === "bigint")
    throw new InvalidEnvelopeError(path, value, "a JSON value (JSON carries no BigInt: send it as a string)");
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) locateUncleanJson(value[i], `${path}[${i}]`, depth + 1, `${i}`);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  const bad = prototypeKey(value);
  if (bad !== undefined)
    throw new InvalidEnvelopeError(`${path}.${bad}`, bad, "no __proto__ key, and no constructor holding a prototype key");
  for (const key of Object.keys(value))
    locateUncleanJson((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, key);
}

// `text`: the value of the envelope's `field`.
function checkString(text: unknown, field: string, max: number): string {
  if (typeof text !== "string" || text.length === 0 || text.length > max) {
    throw new InvalidEnvelopeError(field, text, `a non-empty string of at most ${max} characters`);
  }
  return text;
}

function optionalString(text: unknown, field: string, max: number): string | undefined {
  return text === undefined ? undefined : checkString(text, field, max);
}
