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

// The JSON check (checkJsonValue) for msgpack's native types: walks Maps and Sets too, and refuses any
// object that is not plain data (an Error, a RegExp, a typed array other than Uint8Array…).
function checkNative(value: unknown, path: string, depth: number): void {
  if (depth > ENVELOPE_LIMITS.depth) throw new ZmqProtocolError(`RPC message refused: ${path} nested deeper than`, ENVELOPE_LIMITS.depth);
  if (typeof value !== "object" || value === null) return;
  if (value instanceof Uint8Array || value instanceof Date) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkNative(value[i], `${path}[${i}]`, depth + 1);
    return;
  }
  if (value instanceof Map) {
    for (const [key, item] of value) {
      checkNative(key, `${path}<key>`, depth + 1);
      checkNative(item, `${path}.get(${String(key)})`, depth + 1);
    }
    return;
  }
  if (value instanceof Set) {
    for (const item of value) checkNative(item, `${path}<item>`, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    throw new ZmqProtocolError(`RPC message refused: ${path} is a`, (value as object).constructor?.name ?? "foreign object");
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) throw new ZmqProtocolError(`RPC message refused: forbidden key at ${path}:`, key);
    checkNative((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
  }
}
