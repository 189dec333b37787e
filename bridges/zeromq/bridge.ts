// Everything berrymq/zeromq exports, loaded by index.ts once zeromq is known to be installed.
export { curveKeyPair } from "zeromq";
export type { FsyncPolicy } from "./ack-log.js";
export { Broker, type BrokerEvents, type BrokerOptions, type BrokerStats } from "./broker.js";
export { type AcknowledgeRule, BrokerLink, type BrokerLinkOptions, type BrokerLinkStats } from "./broker-link.js";
export { type DeadLetter, readDeadLetters } from "./dead-letters.js";
export type { DeliveryPolicy, NoSubscriberPolicy } from "./delivery-policy.js";
export {
  BrokerFullError,
  BrokerListenerError,
  BrokerNoSubscriberError,
  BrokerQuotaError,
  BrokerRefusedError,
  BrokerTimeoutError,
  PersistError,
  RpcAuthError,
  RpcBusyError,
  RpcCancelledError,
  RpcClientBackedUpError,
  RpcClosedError,
  RpcListenerError,
  RpcMethodNotFoundError,
  RpcPeerLostError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcTooManyClientsError,
  ZmqProtocolError,
} from "./errors.js";
export { type Procedure, type RpcCallContext, RpcErrorCode, type RpcOptions } from "./rpc-calls.js";
export { type ClientCurve, RpcClient, type RpcClientEvents, type RpcClientOptions } from "./rpc-client.js";
export { DEFAULT_MAX_MESSAGE_BYTES, type RpcCodecName } from "./rpc-codec.js";
export { RpcServer, type RpcServerEvents, type RpcServerOptions, type ServerCurve } from "./rpc-server.js";
export type { Authenticate, AuthMechanism, Credentials, ZapDecision } from "./zap-handler.js";
