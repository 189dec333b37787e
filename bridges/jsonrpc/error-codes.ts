/**
 * JSON-RPC error codes a bridge server answers with: the five of the JSON-RPC 2.0 spec (the values of
 * json-rpc-2.0's JSONRPCErrorCode), then berrymq's own
 * in the server-defined range (-32000 to -32099). berryMQ 0.3 answers use the same codes in their `error`.
 */
export enum BridgeErrorCode {
  ParseError = -32700,
  InvalidRequest = -32600,
  MethodNotFound = -32601,
  InvalidParams = -32602,
  InternalError = -32603,
  /** The token names no open connection (never issued, closed, or the server restarted). */
  InvalidToken = -32001,
  /** The connection was idle longer than its `ttl` and was closed. */
  TokenExpired = -32002,
  /** `getNowait` (or `get` without blocking) found the queue empty. */
  QueueEmpty = -32003,
  /** `get` waited `timeout` and no message came. */
  QueueTimeout = -32004,
  /** The queue behind the token was closed. */
  QueueClosed = -32005,
  /** The Authorization header did not carry the server's shared secret (HTTP 401). */
  Unauthorized = -32006,
  /** The request body was larger than the server's limit (HTTP 413). */
  PayloadTooLarge = -32007,
  /** The token's connection is not of the kind the method needs (e.g. `get` on a send-only token). */
  WrongConnection = -32008,
  /** A browser could have sent it cross-site (Origin, content type), the Host is not this server, or the peer address is not allowed (HTTP 403/415). */
  Forbidden = -32009,
  /** A bound was reached: open tokens, batch entries, identifier length (each names its option). */
  LimitExceeded = -32010,
  /** A number the wire cannot carry exactly (NaN, Infinity, an integer beyond 2^53). */
  InexactNumber = -32011,
  /** The server is closing (or closed): it opens no new connection and takes no new request (HTTP 503). */
  ServerClosing = -32012,
}
