import type { JSONRPCError } from "json-rpc-2.0";
import { BerryError, errorText } from "../../lib/errors.js";
import { BridgeErrorCode } from "./error-codes.js";
import { RpcFault } from "./errors.js";

// Failures caused by what the caller sent: answered as InvalidParams, with our error code in `data`.
const BAD_INPUT = new Set(["INVALID_IDENTIFIER", "INVALID_ENVELOPE", "INVALID_ARGUMENT"]);

const QUEUE_CODES: Record<string, BridgeErrorCode> = {
  QUEUE_EMPTY: BridgeErrorCode.QueueEmpty,
  QUEUE_TIMEOUT: BridgeErrorCode.QueueTimeout,
  QUEUE_CLOSED: BridgeErrorCode.QueueClosed,
};

/** The JSON-RPC error object for anything a method handler threw. */
export function toRpcError(error: unknown): JSONRPCError {
  if (error instanceof RpcFault) {
    return error.data === undefined
      ? { code: error.rpcCode, message: error.message }
      : { code: error.rpcCode, message: error.message, data: error.data };
  }
  if (error instanceof BerryError) {
    if (BAD_INPUT.has(error.code))
      return { code: BridgeErrorCode.InvalidParams, message: error.message, data: { code: error.code } };
    const queueCode = QUEUE_CODES[error.code];
    if (queueCode !== undefined) return { code: queueCode, message: error.message, data: { code: error.code } };
    return { code: BridgeErrorCode.InternalError, message: error.message, data: { code: error.code } };
  }
  return { code: BridgeErrorCode.InternalError, message: `internal error: ${errorText(error)}` };
}
