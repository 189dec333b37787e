// How RPC messages become frames: JSON (the default, readable, JSON data only) or msgpack (pseud's native
// types: Uint8Array/Buffer, Date, Map, Set, BigInt). Either way, what is decoded is validated before use.
import { createRequire } from "node:module";
import { checkJsonValue, ENVELOPE_LIMITS } from "../envelope.js";
import { InvalidArgumentError, MissingDependencyError } from "../../lib/errors.js";
import { ZmqProtocolError } from "./errors.js";

/** The RPC wire encodings: `"json"` (default) or `"msgpack"` (needs the optional `msgpackr` package). */
export type RpcCodecName = "json" | "msgpack";

/** Largest RPC frame decoded, in bytes, unless `maxMessageBytes` says otherwise (1 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * The frame size past which libzmq cuts the connection before reading the frame (`maxMessageSize`):
 * twice `maxMessageBytes`, so a frame a little too big is still read and answered with a parse error,
 * while a peer declaring a far bigger one cannot make this side allocate it (libzmq allocates a frame
 * whole from its header).
 */
export function transportFrameLimit(maxMessageBytes: number): number {
  return Math.min(maxMessageBytes * 2, Number.MAX_SAFE_INTEGER);
}

/** Encodes RPC messages into frames and decodes (and validates) frames into messages. */
export interface RpcCodec {
  readonly name: RpcCodecName;
  /** Largest frame decoded (`maxMessageBytes`); this side sends none bigger either. */
  readonly maxBytes: number;
  /** @throws Error when `value` cannot be encoded. */
  encode(value: unknown): Buffer | string;
  /** @throws ZmqProtocolError naming what is wrong (too big, not decodable, a forbidden key, too deep, a foreign type). */
  decode(frame: Buffer): unknown;
}

// Keys that would reach an object's prototype if a value were ever merged into one.
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

interface Packr {
  pack(value: unknown): Buffer;
  unpack(frame: Buffer): unknown;
}

/** The codec called `name`, refusing frames over `maxBytes`. @throws InvalidArgumentError; MissingDependencyError when msgpackr is not installed. */
export function rpcCodec(name: RpcCodecName, maxBytes: number): RpcCodec {
  const checkSize = (frame: Buffer): void => {
    if (frame.length > maxBytes) throw new ZmqProtocolError(`RPC frame of ${frame.length} bytes over maxMessageBytes`, maxBytes);
  };
  if (name === "json") {
    return {
      name,
      maxBytes,
      encode: (value) => JSON.stringify(value),
      decode(frame) {
        checkSize(frame);
        let value: unknown;
        try {
          value = JSON.parse(frame.toString());
        } catch (error) {
          throw new ZmqProtocolError("RPC frame that is not JSON:", (error as Error).message);
        }
        try {
          checkJsonValue(value, "message", 0);
        } catch (error) {
          throw new ZmqProtocolError("RPC message refused:", (error as Error).message);
        }
        return value;
      },
    };
  }
  if (name !== "msgpack") throw new InvalidArgumentError("codec", name, '"json" or "msgpack"');
  const packr = loadPackr();
  return {
    name,
    maxBytes,
    encode: (value) => packr.pack(value),
    decode(frame) {
      checkSize(frame);
      let value: unknown;
      try {
        value = packr.unpack(frame);
      } catch (error) {
        throw new ZmqProtocolError("RPC frame that is not msgpack:", (error as Error).message);
      }
      checkNative(value, "message", 0);
      return value;
    },
  };
}

function loadPackr(): Packr {
  let msgpackr: { Packr: new (options: object) => Packr };
  try {
    msgpackr = createRequire(import.meta.url)("msgpackr") as typeof msgpackr;
  } catch (error) {
    // Not installed: said as every optional package says it (requirePeer); any other failure as it is.
    const code = (error as { code?: unknown }).code;
    if (code === "MODULE_NOT_FOUND" && String((error as Error).message).includes("'msgpackr'")) {
      throw new MissingDependencyError("msgpackr", 'the "msgpack" codec of berrymq/zeromq', error);
    }
    throw error;
  }
  // Records keep objects and Maps apart; moreTypes carries Set, Uint8Array and the like; 64-bit integers
  // come back as BigInt.
  return new msgpackr.Packr({ useRecords: true, moreTypes: true, int64AsType: "bigint", structuredClone: false });
}

// Why checkNative refused a value, and where: the path is written only for the refused value, as the
// refusal goes back up (one segment per level). Written on the way down, each entry cost a string, and
// a Map key a String() of it: a 500 KB BigInt key took ~240 ms to describe, refused or not.
class Refusal {
  readonly path: string[] = [];
  constructor(
    readonly what: string,
    readonly detail: unknown,
  ) {}
}

// The JSON check (checkJsonValue) for msgpack's native types: walks Maps and Sets too, and refuses any
// object that is not plain data (an Error, a RegExp, a typed array other than Uint8Array…).
function checkNative(value: unknown, path: string, depth: number): void {
  try {
    checkNativeAt(value, depth);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const where = path + error.path.reverse().join("");
    throw new ZmqProtocolError(`RPC message refused: ${error.what.replace("$", () => where)}`, error.detail);
  }
}

// A Map key (or an object's) as a refusal's path shows it, at a bounded cost.
function keyText(key: unknown): string {
  if (typeof key === "string") return key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return typeof key === "number" || typeof key === "boolean" ? String(key) : typeof key;
}

// `$` in a Refusal's `what` stands for the refused value's path.
function checkNativeAt(value: unknown, depth: number): void {
  if (depth > ENVELOPE_LIMITS.depth) throw new Refusal("$ nested deeper than", ENVELOPE_LIMITS.depth);
  if (typeof value !== "object" || value === null) return;
  if (value instanceof Uint8Array || value instanceof Date) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) within("[]", value[i], depth, i);
    return;
  }
  if (value instanceof Map) {
    for (const [key, item] of value) {
      within("<key>", key, depth);
      within(".get", item, depth, key);
    }
    return;
  }
  if (value instanceof Set) {
    for (const item of value) within("<item>", item, depth);
    return;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    throw new Refusal("$ is a", (value as object).constructor?.name ?? "foreign object");
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) throw new Refusal("forbidden key at $:", key);
    within(".", (value as Record<string, unknown>)[key], depth, key);
  }
}

// Checks `item`, one level below its container: a refusal gets the item's path segment on its way up
// (`[key]` of an array, `.key` of an object, `.get(key)` of a Map's value, or `segment` as it is).
function within(segment: "[]" | "." | ".get" | "<key>" | "<item>", item: unknown, depth: number, key?: unknown): void {
  try {
    checkNativeAt(item, depth + 1);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    if (segment === "[]") error.path.push(`[${String(key)}]`);
    else if (segment === ".") error.path.push(`.${keyText(key)}`); // shortened: a key may be most of the frame
    else if (segment === ".get") error.path.push(`.get(${keyText(key)})`);
    else error.path.push(segment);
    throw error;
  }
}
