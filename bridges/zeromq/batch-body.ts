// The body frame of PUBLISH and DELIVER: envelope JSON lines joined by "\n" (see broker-protocol.ts).
import { fromCompactEnvelope } from "../compact-envelope.js";
import { fromEnvelope } from "../envelope.js";
import { ACK_REQUIRED, HEAD_PREFIX, HEAD_STRIDE, NO_ACK, SEQ } from "./broker-protocol.js";
import { type DeliveryPolicy, readHeadPolicy } from "./delivery-policy.js";

const NEWLINE = 0x0a;
const SEPARATOR = Buffer.from("\n");

/** Byte ranges of the lines of a body: line `i` is `body.subarray(starts[i], ends[i])`. */
export interface Lines {
  starts: number[];
  ends: number[];
}

/**
 * Finds the lines of a body without decoding it (an empty body holds no line). The newlines are counted
 * first so that both arrays are allocated at their size: growing them by `push` allocated 17 slots for a
 * one-line body, twice, on every hop of a one-message round trip (memchr makes the second pass cheap).
 */
export function splitLines(body: Buffer): Lines {
  if (body.length === 0) return { starts: [], ends: [] };
  let count = 1;
  for (let at = body.indexOf(NEWLINE); at !== -1; at = body.indexOf(NEWLINE, at + 1)) count++;
  const starts = sized<number>(count);
  const ends = sized<number>(count);
  let start = 0;
  for (let i = 0; i < count - 1; i++) {
    const end = body.indexOf(NEWLINE, start);
    starts[i] = start;
    ends[i] = end;
    start = end + 1;
  }
  starts[count - 1] = start;
  ends[count - 1] = body.length;
  return { starts, ends };
}

/**
 * An array to be filled by index 0 to count - 1, allocated at its size when that is small enough for V8
 * to keep it a fast array (`new Array(n)` of a large n makes a dictionary; filled in order, [] grows fast).
 */
export function sized<T>(count: number): T[] {
  return count <= 4_096 ? new Array<T>(count) : [];
}

/** Lines `from` (inclusive) to `to` (exclusive) as one body: a view of the same bytes, no copy. */
export function sliceLines(body: Buffer, lines: Lines, from: number, to: number): Buffer {
  return body.subarray(lines.starts[from] ?? 0, lines.ends[to - 1] ?? 0);
}

/** Bodies up to this size go to zeromq.js as strings (see BodyWriter.take). */
export const SMALL_BODY = 8 * 1024;

/**
 * A body (or a run of its lines) as zeromq.js sends it at the least cost: small ones as a string, which it
 * copies, rather than a Buffer it shares and must hand back to the JS thread (see BodyWriter.take).
 * Bytes that are not UTF-8 decode to U+FFFD, as every receiver decodes them anyway; a newline stays one.
 */
export function forSending(body: Buffer): Buffer | string {
  return body.length <= SMALL_BODY ? body.toString("utf8") : body;
}
/**
 * Lines `from` to `to` of a body, as {@link forSending} gives them: a small run is decoded straight from
 * the body's bytes, without the view that `sliceLines` makes of them first (one object less per DELIVER).
 */
export function linesForSending(body: Buffer, lines: Lines, from: number, to: number): Buffer | string {
  const start = lines.starts[from] ?? 0;
  const end = lines.ends[to - 1] ?? 0;
  return end - start <= SMALL_BODY ? body.toString("utf8", start, end) : body.subarray(start, end);
}

// Kept between bodies up to this size: one larger batch does not hold its memory for good.
const SCRATCH_KEPT = 1 << 20;

/**
 * Builds a body from lines written one by one, as UTF-8 straight into a reused buffer: joining 1,000
 * strings of ~300 bytes into one string and handing it to zeromq.js (which encodes it again) cost
 * ~1.6 µs a line; writing them here and copying the bytes out once costs ~0.15–0.3 µs.
 */
export class BodyWriter {
  #scratch = Buffer.allocUnsafeSlow(64 * 1024);
  #length = 0;
  #lines = 0;

  /** Appends one line (a JSON text: it holds no raw newline). */
  push(line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; 1 more for the separator.
    const room = line.length * 3 + 1;
    if (this.#scratch.length - this.#length < room) this.#grow(room);
    if (this.#lines++ > 0) this.#scratch[this.#length++] = NEWLINE;
    this.#length += this.#scratch.write(line, this.#length);
  }

  /**
   * The body written so far, as a buffer of its own, or up to {@link SMALL_BODY} bytes as a string (what
   * zeromq.js copies and frees on its own thread: a Buffer over 128 bytes it shares, and releases later
   * through a wake-up of the JS thread, one more on every one-message round trip). Starts empty again.
   */
  take(): Buffer | string {
    let body: Buffer | string;
    if (this.#length <= SMALL_BODY) body = this.#scratch.toString("utf8", 0, this.#length);
    else {
      body = Buffer.allocUnsafeSlow(this.#length);
      this.#scratch.copy(body, 0, 0, this.#length);
    }
    this.#length = 0;
    this.#lines = 0;
    if (this.#scratch.length > SCRATCH_KEPT) this.#scratch = Buffer.allocUnsafeSlow(64 * 1024);
    return body;
  }

  #grow(room: number): void {
    const grown = Buffer.allocUnsafeSlow(Math.max(this.#scratch.length * 2, this.#length + room));
    this.#scratch.copy(grown, 0, 0, this.#length);
    this.#scratch = grown;
  }
}

/** Joins single envelopes into one body. */
export function joinLines(parts: readonly Buffer[]): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    if (pieces.length > 0) pieces.push(SEPARATOR);
    pieces.push(part);
  }
  return Buffer.concat(pieces);
}

/** A PUBLISH batch as the broker reads it: per envelope its identifier, messageId and ack flag. */
export interface PublishBatch {
  /** The client's number for the batch, echoed by its receipt. */
  seq: string;
  /** The bootId of the broker whose welcome the client heard; `""` when none yet. */
  bootId: string;
  identifiers: string[];
  messageIds: string[];
  /** One `"1"` (acknowledge) or `"0"` per envelope: the DELIVER flags are a slice of it. */
  flags: string;
  /** Per envelope, the policy its sender gave (undefined: the broker's defaults); absent when none gave one. */
  policies: (DeliveryPolicy | undefined)[] | undefined;
  body: Buffer;
  lines: Lines;
}

/** A PUBLISH the broker refuses; `seq` is the batch's, when its head got that far (a receipt can name it). */
export class BadBatchError extends Error {
  constructor(
    message: string,
    readonly seq: string | undefined,
  ) {
    super(message);
  }
}

/**
 * Reads the head and body frames of a PUBLISH.
 * @throws BadBatchError saying what is wrong when the head is not `[seq, bootId, identifier, messageId,
 * 0|1|policy, …]` with one triple per body line.
 */
export function readPublishBatch(headFrame: Buffer, body: Buffer): PublishBatch {
  let head: unknown;
  try {
    head = JSON.parse(headFrame.toString());
  } catch (error) {
    throw new BadBatchError(`the head is not JSON: ${(error as Error).message}`, undefined);
  }
  if (
    !Array.isArray(head) ||
    typeof head[0] !== "string" ||
    !SEQ.test(head[0]) ||
    typeof head[1] !== "string" ||
    head[1].includes(" ")
  ) {
    throw new BadBatchError(
      "the head does not start with a seq (1 to 32 visible ASCII characters) and a bootId (a string without spaces)",
      undefined,
    );
  }
  const seq = head[0];
  const bootId = head[1];
  if ((head.length - HEAD_PREFIX) % HEAD_STRIDE !== 0)
    throw new BadBatchError("the head is not [seq, bootId] and [identifier, messageId, ack] triples", seq);
  const lines = splitLines(body);
  const count = (head.length - HEAD_PREFIX) / HEAD_STRIDE;
  if (lines.starts.length !== count)
    throw new BadBatchError(`the head names ${count} envelope(s), the body holds ${lines.starts.length}`, seq);
  // At their size (see splitLines).
  const identifiers = sized<string>(count);
  const messageIds = sized<string>(count);
  let flags = "";
  let policies: (DeliveryPolicy | undefined)[] | undefined;
  for (let i = HEAD_PREFIX, entry = 0; i < head.length; i += HEAD_STRIDE, entry++) {
    const identifier: unknown = head[i];
    const messageId: unknown = head[i + 1];
    const ack: unknown = head[i + 2];
    if (typeof identifier !== "string" || typeof messageId !== "string") {
      throw new BadBatchError(`head entry ${entry} is not [identifier, messageId, 0|1|policy]`, seq);
    }
    identifiers[entry] = identifier;
    messageIds[entry] = messageId;
    if (ack === 0 || ack === 1) {
      flags += ack === 1 ? ACK_REQUIRED : NO_ACK;
      continue;
    }
    let policy: DeliveryPolicy | undefined;
    try {
      policy = readHeadPolicy(ack);
    } catch (error) {
      throw new BadBatchError(`head entry ${entry}: ${(error as Error).message}`, seq);
    }
    flags += ACK_REQUIRED;
    policies ??= [];
    policies[entry] = policy;
  }
  return { seq, bootId, identifiers, messageIds, flags, policies, body, lines };
}

/**
 * Why the broker must refuse line `i` of a batch as an acknowledged message, or undefined when it may hold
 * it: the line must be an envelope every subscriber would take (validated as a receiver validates it) with
 * the identifier and messageId of its head entry. The broker holds, counts and releases a held message by
 * the head's messageId while subscribers de-duplicate and acknowledge by the line's: were they allowed to
 * differ, a client could have another client's message dropped as a duplicate and released unseen, and a
 * line no subscriber takes would be resent until its expiry. Only acknowledged lines pay for this (one
 * parse and validation each); the others are routed on the head unread, and each receiver validates them.
 */
export function acknowledgedLineFault(batch: PublishBatch, i: number): string | undefined {
  const text = batch.body.toString("utf8", batch.lines.starts[i], batch.lines.ends[i]);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "its line is not JSON";
  }
  let envelope: unknown;
  try {
    envelope = fromCompactEnvelope(value);
    fromEnvelope(envelope);
  } catch (error) {
    return `its line is not a valid envelope: ${(error as Error).message}`;
  }
  // fromEnvelope took it: a plain object with string id and messageId (as written, not normalised).
  const { id, messageId } = envelope as { id: string; messageId: string };
  if (messageId !== batch.messageIds[i]) return `its line's messageId ${JSON.stringify(messageId)} is not its head's`;
  if (id !== batch.identifiers[i]) return `its line's identifier ${JSON.stringify(id)} is not its head's`;
  return undefined;
}
