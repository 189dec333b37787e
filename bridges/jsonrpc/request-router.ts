import {
  createJSONRPCErrorResponse,
  createJSONRPCSuccessResponse,
  type JSONRPCID,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type JSONRPCServer,
} from "json-rpc-2.0";
import { isPlainObject } from "../../lib/kwargs.js";
import { prototypeKey } from "../envelope.js";
import type { BridgeState } from "./bridge-state.js";
import { BridgeErrorCode } from "./error-codes.js";
import { toRpcError } from "./fault.js";
import { kindOf } from "./kind-of.js";
import { answerLegacy, type LegacyAnswer } from "./legacy-methods.js";
import type { CallContext } from "./rpc-methods.js";
import { refusePageMethod } from "./web-guard.js";

/** The decoded answer to one HTTP request body, or null when there is nothing to answer (notifications). */
export type RouterAnswer = JSONRPCResponse | JSONRPCResponse[] | LegacyAnswer | null;

/**
 * Sends a decoded request body to the right protocol: an array is a JSON-RPC 2.0 batch, an object with a
 * `jsonrpc` member a 2.0 request, any other object a berryMQ 0.3 (JSON-RPC 1.0) request. Never throws,
 * and never stringifies or echoes what it has not validated: every problem becomes an error answer.
 */
export function routeRequest(
  rpc: JSONRPCServer<CallContext>,
  state: BridgeState,
  payload: unknown,
  context: CallContext,
): RouterAnswer | PromiseLike<RouterAnswer> {
  if (Array.isArray(payload)) {
    if (payload.length === 0) return invalid(null, "an empty batch");
    return receiveBatch(rpc, state, payload, context);
  }
  if (isPlainObject(payload) && !("jsonrpc" in payload)) {
    const bad = prototypeKey(payload);
    if (bad !== undefined)
      return errorAnswer(false, BridgeErrorCode.InvalidRequest, `invalid request: key "${bad}" is not allowed`);
    const refused = context.fromPage === true && typeof payload.method === "string" ? refusePageMethod(payload.method) : undefined;
    if (refused !== undefined) return { ...errorAnswer(false, BridgeErrorCode.Forbidden, refused), id: legacyId(payload.id) };
    return answerLegacy(state, payload, context.signal);
  }
  return receiveOne(rpc, state, payload, context);
}

// A peer link's batch is all `berrymq.send` calls, answered at once: waiting on a promise per call (as
// Promise.all would) only when some call really is asynchronous keeps the hot path free of them.
function receiveBatch(
  rpc: JSONRPCServer<CallContext>,
  state: BridgeState,
  items: unknown[],
  context: CallContext,
): RouterAnswer | PromiseLike<RouterAnswer> {
  const answers: (JSONRPCResponse | null | PromiseLike<JSONRPCResponse | null>)[] = new Array(items.length);
  let pending = false;
  for (let i = 0; i < items.length; i++) {
    const answer = receiveOne(rpc, state, items[i], context);
    if (answer !== null && "then" in answer) pending = true;
    answers[i] = answer;
  }
  return pending ? Promise.all(answers).then(collect) : collect(answers as (JSONRPCResponse | null)[]);
}

// Notifications have no answer; a batch of nothing but notifications is answered with nothing at all.
function collect(answers: (JSONRPCResponse | null)[]): JSONRPCResponse[] | null {
  const responses = answers.filter((answer): answer is JSONRPCResponse => answer !== null);
  return responses.length === 0 ? null : responses;
}

/** An error answer with a null id: in JSON-RPC 2.0 form, or in berryMQ 0.3's (`result` null, `type`). */
export function errorAnswer(twoPointZero: boolean, code: BridgeErrorCode, message: string): JSONRPCResponse | LegacyAnswer {
  if (twoPointZero) return createJSONRPCErrorResponse(null, code, message);
  return { id: null, result: null, error: { code, message, type: BridgeErrorCode[code] ?? "Error" } };
}

// json-rpc-2.0 assumes each request is an object: anything else is answered here before it gets there.
function receiveOne(
  rpc: JSONRPCServer<CallContext>,
  state: BridgeState,
  item: unknown,
  context: CallContext,
): PromiseLike<JSONRPCResponse | null> | JSONRPCResponse | null {
  if (!isPlainObject(item)) return invalid(null, `${kindOf(item)} is not a request object`);
  const id = item.id;
  const validId: JSONRPCID = isId(id) ? id : null;
  if (id !== undefined && !isId(id)) return invalid(null, "id must be a string, a number or null");
  if (item.jsonrpc !== "2.0") return invalid(validId, `jsonrpc must be "2.0" (got ${kindOf(item.jsonrpc)})`);
  if (typeof item.method !== "string") return invalid(validId, "method must be a string");
  if ("result" in item || "error" in item) return invalid(validId, "a request has no result or error member");
  const params = item.params;
  if (params !== undefined && (typeof params !== "object" || params === null))
    return invalid(validId, "params must be an object or an array");
  const bad = prototypeKey(item) ?? (isPlainObject(params) ? prototypeKey(params) : undefined);
  if (bad !== undefined) {
    // Still a notification (well formed, no id): JSON-RPC 2.0 answers none, even an invalid-params one.
    if (id === undefined) return null;
    return createJSONRPCErrorResponse(validId, BridgeErrorCode.InvalidParams, `invalid params: key "${bad}" is not allowed`);
  }
  const refused = context.fromPage === true ? refusePageMethod(item.method) : undefined;
  if (refused !== undefined) {
    // A notification is not answered, refused or not (JSON-RPC 2.0); it is not run either.
    if (id === undefined) return null;
    return createJSONRPCErrorResponse(validId, BridgeErrorCode.Forbidden, refused);
  }
  // The hot methods of peer links, answered here without json-rpc-2.0's per-call promise machinery
  // (same answers; this is what lets a batch of 1,000 go through several times faster).
  if ((item.method === "berrymq.send" || item.method === "berrymq.sendAll") && isPlainObject(params) && id !== undefined) {
    try {
      const result =
        item.method === "berrymq.send"
          ? state.send(params.token, params.envelope)
          : state.sendAll(params.token, params.envelopes);
      return createJSONRPCSuccessResponse(validId, result);
    } catch (error) {
      const { code, message, data } = toRpcError(error);
      return createJSONRPCErrorResponse(validId, code, message, data);
    }
  }
  if (!rpc.hasMethod(item.method)) {
    if (id === undefined) return null;
    return createJSONRPCErrorResponse(
      validId,
      BridgeErrorCode.MethodNotFound,
      `method not found: ${JSON.stringify(item.method.slice(0, 80))}`,
    );
  }
  return rpc.receive(item as unknown as JSONRPCRequest, context);
}

function invalid(id: JSONRPCID, why: string): JSONRPCResponse {
  return createJSONRPCErrorResponse(id, BridgeErrorCode.InvalidRequest, `invalid request: ${why}`);
}

// The id a 0.3 answer echoes, as answerLegacy does: a string of at most 256, a finite number, else null.
function legacyId(id: unknown): string | number | null {
  return (typeof id === "string" && id.length <= 256) || (typeof id === "number" && Number.isFinite(id)) ? id : null;
}

function isId(value: unknown): value is JSONRPCID {
  return typeof value === "string" || (typeof value === "number" && Number.isFinite(value)) || value === null;
}
