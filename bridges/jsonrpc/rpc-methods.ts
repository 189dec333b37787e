import { createJSONRPCErrorResponse, JSONRPCServer } from "json-rpc-2.0";
import { InvalidArgumentError } from "../../lib/errors.js";
import { isPlainObject } from "../../lib/kwargs.js";
import { toEnvelope } from "../envelope.js";
import type { BridgeState } from "./bridge-state.js";
import { toRpcError } from "./fault.js";

/** What every call of one HTTP request shares: aborted when the client hangs up. */
export interface CallContext {
  signal: AbortSignal;
  /**
   * The request came from a web page (it carried an `Origin`, which only an allowed origin gets past):
   * a page is a client, so the peer methods (`interconnect` in every form) are refused to it.
   */
  fromPage?: boolean;
}

/** Version of the namespaced JSON-RPC 2.0 protocol, reported by `berrymq.hello`. */
export const PROTOCOL_VERSION = 1;

/**
 * The JSON-RPC 2.0 methods of a bridge server (params by name), on a `json-rpc-2.0` JSONRPCServer:
 * `berrymq.hello`, `.connect`, `.interconnect`, `.send`, `.sendAll`, `.twitter`, `.get`, `.getNowait`, `.ping`, `.close`.
 */
export function createRpcServer(state: BridgeState): JSONRPCServer<CallContext> {
  // Failures are answered on the wire; the library's default would also print each one.
  const rpc = new JSONRPCServer<CallContext>({ errorListener: () => {} });
  rpc.mapErrorToJSONRPCErrorResponse = (id, error) => {
    const { code, message, data } = toRpcError(error);
    return createJSONRPCErrorResponse(id, code, message, data);
  };
  rpc.addMethod("berrymq.hello", () => ({ busId: state.bus.id, version: PROTOCOL_VERSION, queues: state.queueFilters }));
  rpc.addMethod("berrymq.connect", (params) => {
    const p = named(params);
    if (p.style === "oneway") return { token: state.connectOneway(p.ttl) };
    if (p.style === "queue") {
      for (const [name, value] of [["shared", p.shared], ["copy", p.copy]] as const) {
        if (value !== undefined && typeof value !== "boolean") throw new InvalidArgumentError(name, value, "true, false, or left out");
      }
      // `copy: true` is echoed: a client asking for a copy learns that this server knows what it is.
      const copy = p.copy === true;
      return { token: state.connectQueue(p.filter, p.ttl, p.shared === true, copy), ...(copy ? { copy } : {}) };
    }
    throw new InvalidArgumentError("style", p.style, '"oneway" or "queue"');
  });
  rpc.addMethod("berrymq.interconnect", (params) => {
    const p = named(params);
    return state.interconnect(p.url, p.token, p.busId, p.ttl);
  });
  rpc.addMethod("berrymq.send", (params) => {
    const p = named(params);
    return state.send(p.token, p.envelope);
  });
  rpc.addMethod("berrymq.sendAll", (params) => {
    const p = named(params);
    return state.sendAll(p.token, p.envelopes);
  });
  rpc.addMethod("berrymq.twitter", (params) => {
    const p = named(params);
    return state.sendPlain(p.token, p.identifier, p.args ?? [], p.kwargs ?? {});
  });
  rpc.addMethod("berrymq.get", async (params, context) => {
    const p = named(params);
    const timeout = p.timeout;
    if (timeout !== undefined && (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0)) {
      throw new InvalidArgumentError("timeout", timeout, "milliseconds >= 0");
    }
    return toEnvelope(await state.get(p.token, timeout, context.signal));
  });
  rpc.addMethod("berrymq.getNowait", (params) => toEnvelope(state.getNowait(named(params).token)));
  rpc.addMethod("berrymq.ping", (params) => state.ping(named(params).token));
  rpc.addMethod("berrymq.close", async (params) => {
    await state.closeToken(named(params).token);
    return "ok";
  });
  return rpc;
}

function named(params: unknown): Record<string, unknown> {
  if (params === undefined) return {};
  if (!isPlainObject(params)) throw new InvalidArgumentError("params", params, "an object of named parameters");
  return params;
}
