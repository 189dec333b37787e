import type { BridgeState } from "./bridge-state.js";
import { BridgeErrorCode } from "./error-codes.js";
import { RpcFault } from "./errors.js";
import { toRpcError } from "./fault.js";
import { toLegacy } from "./legacy-message.js";
import { kindOf } from "./kind-of.js";

/** A berryMQ 0.3 (JSON-RPC 1.0) answer: `error` is null on success, `result` null on failure. */
export interface LegacyAnswer {
  id: unknown;
  result: unknown;
  error: { code: number; message: string; type: string; data?: unknown } | null;
}

type LegacyMethod = (state: BridgeState, params: unknown[], signal: AbortSignal) => unknown;

// The result strings berryMQ 0.3 peers expect in place of errors for token problems.
const TOKEN_ANSWERS: Partial<Record<BridgeErrorCode, string>> = {
  [BridgeErrorCode.InvalidToken]: "invalid token",
  [BridgeErrorCode.TokenExpired]: "timeout",
  [BridgeErrorCode.WrongConnection]: "invalid token",
};

const METHODS: Record<string, LegacyMethod> = {
  interconnect: (state, [addr, token, ttl]) => state.interconnectLegacy(addr, token, ttl),
  // Named in berryMQ 0.3's docs (its code calls `interconnect`): no token, the server makes one.
  connect_interactively: (state, [addr, ttl]) => state.interconnectLegacy(addr, null, ttl),
  connect_oneway: (state, [ttl = 1000]) => state.connectOneway(ttl),
  connect_via_queue: (state, [identifier, ttl]) => state.connectQueue(identifier, ttl, false, false),
  send_message: (state, [token, identifier, args, kwargs]) => {
    state.sendPlain(token, identifier, args, kwargs);
    return "ok";
  },
  get: async (state, [token, block, timeout], signal) => {
    // 0.3 takes an identifier of any length, and no hops: berrymq's envelope limits do not apply.
    if (block === false) return toLegacy(state.getNowait(token, false));
    // 0.3 timeouts are seconds (Python's Queue.get); null waits until a message or the client hangs up.
    if (timeout !== null && timeout !== undefined && (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0)) {
      throw new RpcFault(
        BridgeErrorCode.InvalidParams,
        `invalid timeout ${kindOf(timeout)}: expected seconds >= 0 or null`,
      );
    }
    return toLegacy(await state.get(token, typeof timeout === "number" ? timeout * 1000 : undefined, signal, false));
  },
  get_nowait: (state, [token]) => toLegacy(state.getNowait(token, false)),
  close_connection: async (state, [token]) => {
    await state.closeToken(token);
    return "ok";
  },
};

/**
 * Answers one request in berryMQ 0.3's JSON-RPC 1.0 form (`{"id", "method", "params": [...]}`, no
 * `jsonrpc` member): token problems answer with 0.3's result strings, other failures with an `error`.
 */
export async function answerLegacy(
  state: BridgeState,
  request: Record<string, unknown>,
  signal: AbortSignal,
): Promise<LegacyAnswer> {
  // Echoed only when it is an id JSON-RPC allows: anything else (a deep array, an object) answers null.
  const id = isLegacyId(request.id) ? request.id : null;
  try {
    const { method, params } = request;
    if (typeof method !== "string")
      throw new RpcFault(
        BridgeErrorCode.InvalidRequest,
        `invalid request: method ${kindOf(method)}: expected a string`,
      );
    const call = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
    if (call === undefined)
      throw new RpcFault(BridgeErrorCode.MethodNotFound, `method not found: ${JSON.stringify(method.slice(0, 80))}`);
    if (params !== undefined && !Array.isArray(params)) {
      throw new RpcFault(BridgeErrorCode.InvalidParams, `invalid params ${kindOf(params)}: expected an array (JSON-RPC 1.0)`);
    }
    return { id, result: await call(state, params ?? [], signal), error: null };
  } catch (error) {
    const { code, message, data } = toRpcError(error);
    const answer = TOKEN_ANSWERS[code as BridgeErrorCode];
    if (answer !== undefined) return { id, result: answer, error: null };
    const type = error instanceof Error ? error.name : "Error";
    return { id, result: null, error: data === undefined ? { code, message, type } : { code, message, type, data } };
  }
}

function isLegacyId(id: unknown): id is string | number | null {
  return (typeof id === "string" && id.length <= 256) || (typeof id === "number" && Number.isFinite(id)) || id === null;
}
