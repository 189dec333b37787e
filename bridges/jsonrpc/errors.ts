import { BerryError, describe, errorText } from "../../lib/errors.js";
import { BridgeErrorCode } from "./error-codes.js";

export { UnsendableMessageError } from "../errors.js";

/** A JSON-RPC error answered by a bridge server; `rpcCode` is the wire code, `data` what came with it. */
export class RemoteError extends BerryError {
  /** The JSON-RPC error code, see {@link BridgeErrorCode}. */
  readonly rpcCode: number;
  /** The error's `data` member, if any. */
  readonly data: unknown;

  constructor(method: string, rpcCode: number, message: string, data?: unknown) {
    super("REMOTE_ERROR", `${method}: remote error ${rpcCode} (${BridgeErrorCode[rpcCode] ?? "server-defined"}): ${message}`);
    this.rpcCode = rpcCode;
    this.data = data;
  }
}

/** The server answered with an HTTP status other than 200 (401 wrong secret, 413 body too large, ...). */
export class HttpStatusError extends BerryError {
  readonly status: number;
  /** The size in bytes of the request body the server answered so, when known. */
  readonly requestBytes: number | undefined;
  /** The JSON-RPC error code in the body (a bridge server says why it refused), when the body has one. */
  readonly rpcCode: number | undefined;

  constructor(url: string, status: number, body: string, requestBytes?: number) {
    super("HTTP_STATUS", `${url}: HTTP ${status}${body === "" ? "" : `: ${body.slice(0, 200)}`}`);
    this.status = status;
    this.requestBytes = requestBytes;
    this.rpcCode = rpcCodeOf(body);
  }
}

// A bridge server's refusal body is `{"jsonrpc": "2.0", "id": null, "error": {"code": ...}}`; anything else
// (a proxy's page) has no code.
function rpcCodeOf(body: string): number | undefined {
  if (!body.startsWith("{") || body.length > 4_096) return undefined;
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } } | null)?.error?.code;
    return typeof code === "number" ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The server's answer was not the JSON-RPC response expected; `body` is what came. */
export class BadResponseError extends BerryError {
  constructor(url: string, body: unknown, expected: string) {
    super("BAD_RESPONSE", `${url}: unexpected answer ${describe(body)}: expected ${expected}`);
  }
}

/** A server-side failure with its JSON-RPC error code; thrown by method handlers, answered on the wire. */
export class RpcFault extends BerryError {
  readonly rpcCode: BridgeErrorCode;
  readonly data: unknown;

  constructor(rpcCode: BridgeErrorCode, message: string, data?: unknown) {
    super("RPC_FAULT", message);
    this.rpcCode = rpcCode;
    this.data = data;
  }
}

/** A peer refused a message (a berryMQ 0.3 peer whose follower raised answers an error): it was skipped, not retried. */
export class PeerRefusedError extends BerryError {
  readonly dropped: { id: string; messageId: string };

  constructor(link: string, dropped: { id: string; messageId: string }, cause: unknown) {
    super("PEER_REFUSED", `link ${link}: the peer refused "${dropped.id}" (${dropped.messageId}), skipped: ${errorText(cause)}`, {
      cause,
    });
    this.dropped = { id: dropped.id, messageId: dropped.messageId };
  }
}

/** A peer's connection was idle past its ttl (neither side reached the other): its link back was closed. */
export class PeerExpiredError extends BerryError {
  constructor(link: string, ttl: number) {
    super("PEER_EXPIRED", `${link}: no traffic either way for more than its ttl of ${ttl} s: the link back was closed`);
  }
}

/**
 * A PeerLink's local bridge server (where the far side sends its messages) closed: the link can no longer
 * receive. `PeerLink.connect` rejects with it; a connected link reports it and closes itself.
 */
export class PeerServerClosedError extends BerryError {
  /** The closed server's URL. */
  readonly url: string;

  constructor(link: string, url: string) {
    super("PEER_SERVER_CLOSED", `link ${link}: its bridge server ${url} closed: the far side's messages have no way in`);
    this.url = url;
  }
}

/** A peer link's stream (see `LinkStream`) closed with a call unanswered: the link retries it over HTTP POST. */
export class StreamClosedError extends BerryError {
  constructor(name: string, reason: string) {
    super("STREAM_CLOSED", `${name}: link stream closed: ${reason}`);
  }
}

/** A call of an endpoint that was closed: refused before it went, or ended unanswered by the close. */
export class EndpointClosedError extends BerryError {
  constructor(url: string) {
    super("ENDPOINT_CLOSED", `${url}: endpoint closed`);
  }
}

/**
 * A JSON-RPC endpoint's call (or a link stream's upgrade) got no answer within its `timeout`: the far
 * server is hung, unreachable without a refusal, or answers too slowly. `url` and `timeout` say which.
 */
export class NoAnswerError extends BerryError {
  readonly url: string;
  readonly timeout: number;

  constructor(url: string, timeout: number, what = "no answer") {
    super("NO_ANSWER", `${url}: ${what} within ${timeout} ms`);
    this.url = url;
    this.timeout = timeout;
  }
}
