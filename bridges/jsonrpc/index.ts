// berrymq/jsonrpc: buses linked across processes over HTTP JSON-RPC (berryMQ 0.3 compatible).
export { BridgeServer, type BridgeServerOptions, SERVER_DEFAULTS, serve } from "./bridge-server.js";
export { BridgeErrorCode } from "./error-codes.js";
export {
  BadResponseError,
  EndpointClosedError,
  HttpStatusError,
  NoAnswerError,
  PeerExpiredError,
  PeerRefusedError,
  PeerServerClosedError,
  RemoteError,
  RpcFault,
  UnsendableMessageError,
} from "./errors.js";
export { LegacyEchoFilter } from "./legacy-echo-filter.js";
export { HttpLink, type HttpLinkOptions } from "./http-link.js";
export { LegacyPeerLink } from "./legacy-peer-link.js";
export { PeerLink, type PeerLinkOptions } from "./peer-link.js";
export { RemoteQueueClient, type RemoteQueueOptions } from "./remote-queue-client.js";
export { type RpcCall, RpcEndpoint, type RpcEndpointOptions, type RpcOutcome } from "./rpc-endpoint.js";
export { PROTOCOL_VERSION } from "./rpc-methods.js";
export { SendOnlyClient } from "./send-only-client.js";
