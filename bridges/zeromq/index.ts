// berrymq/zeromq: the broker, its client link and RPC over ZeroMQ. Only this subpath loads zeromq (an optional peer dependency); the core
// never does. bridge.ts is loaded dynamically after a check, so a missing zeromq fails here with an
// error saying what to install. Every value bridge.ts exports is listed below (spec/package checks it).
import { requirePeer } from "../peer-dependency.js";
import type * as Bridge from "./bridge.js";

await requirePeer("zeromq", "berrymq/zeromq");
const bridge: typeof Bridge = await import("./bridge.js");

export type {
  AcknowledgeRule,
  Authenticate,
  AuthMechanism,
  BrokerEvents,
  BrokerLinkOptions,
  BrokerLinkStats,
  BrokerOptions,
  BrokerStats,
  ClientCurve,
  Credentials,
  DeadLetter,
  DeliveryPolicy,
  FsyncPolicy,
  NoSubscriberPolicy,
  Procedure,
  RpcCallContext,
  RpcClientEvents,
  RpcClientOptions,
  RpcCodecName,
  RpcOptions,
  RpcServerEvents,
  RpcServerOptions,
  ServerCurve,
  ZapDecision,
} from "./bridge.js";

/** `curveKeyPair` of bridge.ts. */
export const curveKeyPair = bridge.curveKeyPair;

/** `Broker` of bridge.ts. */
export const Broker = bridge.Broker;
/** An instance of Broker. */
export type Broker = Bridge.Broker;

/** `BrokerLink` of bridge.ts. */
export const BrokerLink = bridge.BrokerLink;
/** An instance of BrokerLink. */
export type BrokerLink = Bridge.BrokerLink;

/** `readDeadLetters` of bridge.ts. */
export const readDeadLetters = bridge.readDeadLetters;

/** `BrokerFullError` of bridge.ts. */
export const BrokerFullError = bridge.BrokerFullError;
/** An instance of BrokerFullError. */
export type BrokerFullError = Bridge.BrokerFullError;

/** `BrokerListenerError` of bridge.ts. */
export const BrokerListenerError = bridge.BrokerListenerError;
/** An instance of BrokerListenerError. */
export type BrokerListenerError = Bridge.BrokerListenerError;

/** `BrokerNoSubscriberError` of bridge.ts. */
export const BrokerNoSubscriberError = bridge.BrokerNoSubscriberError;
/** An instance of BrokerNoSubscriberError. */
export type BrokerNoSubscriberError = Bridge.BrokerNoSubscriberError;

/** `BrokerQuotaError` of bridge.ts. */
export const BrokerQuotaError = bridge.BrokerQuotaError;
/** An instance of BrokerQuotaError. */
export type BrokerQuotaError = Bridge.BrokerQuotaError;

/** `BrokerRefusedError` of bridge.ts. */
export const BrokerRefusedError = bridge.BrokerRefusedError;
/** An instance of BrokerRefusedError. */
export type BrokerRefusedError = Bridge.BrokerRefusedError;

/** `BrokerTimeoutError` of bridge.ts. */
export const BrokerTimeoutError = bridge.BrokerTimeoutError;
/** An instance of BrokerTimeoutError. */
export type BrokerTimeoutError = Bridge.BrokerTimeoutError;

/** `PersistError` of bridge.ts. */
export const PersistError = bridge.PersistError;
/** An instance of PersistError. */
export type PersistError = Bridge.PersistError;

/** `RpcAuthError` of bridge.ts. */
export const RpcAuthError = bridge.RpcAuthError;
/** An instance of RpcAuthError. */
export type RpcAuthError = Bridge.RpcAuthError;

/** `RpcBusyError` of bridge.ts. */
export const RpcBusyError = bridge.RpcBusyError;
/** An instance of RpcBusyError. */
export type RpcBusyError = Bridge.RpcBusyError;

/** `RpcCancelledError` of bridge.ts. */
export const RpcCancelledError = bridge.RpcCancelledError;
/** An instance of RpcCancelledError. */
export type RpcCancelledError = Bridge.RpcCancelledError;

/** `RpcClosedError` of bridge.ts. */
export const RpcClosedError = bridge.RpcClosedError;
/** An instance of RpcClosedError. */
export type RpcClosedError = Bridge.RpcClosedError;

/** `RpcListenerError` of bridge.ts. */
export const RpcListenerError = bridge.RpcListenerError;
/** An instance of RpcListenerError. */
export type RpcListenerError = Bridge.RpcListenerError;

/** `RpcMethodNotFoundError` of bridge.ts. */
export const RpcMethodNotFoundError = bridge.RpcMethodNotFoundError;
/** An instance of RpcMethodNotFoundError. */
export type RpcMethodNotFoundError = Bridge.RpcMethodNotFoundError;

/** `RpcPeerLostError` of bridge.ts. */
export const RpcPeerLostError = bridge.RpcPeerLostError;
/** An instance of RpcPeerLostError. */
export type RpcPeerLostError = Bridge.RpcPeerLostError;

/** `RpcRemoteError` of bridge.ts. */
export const RpcRemoteError = bridge.RpcRemoteError;
/** An instance of RpcRemoteError. */
export type RpcRemoteError = Bridge.RpcRemoteError;

/** `RpcTimeoutError` of bridge.ts. */
export const RpcTimeoutError = bridge.RpcTimeoutError;
/** An instance of RpcTimeoutError. */
export type RpcTimeoutError = Bridge.RpcTimeoutError;

/** `RpcTooManyClientsError` of bridge.ts. */
export const RpcTooManyClientsError = bridge.RpcTooManyClientsError;
/** An instance of RpcTooManyClientsError. */
export type RpcTooManyClientsError = Bridge.RpcTooManyClientsError;

/** `ZmqProtocolError` of bridge.ts. */
export const ZmqProtocolError = bridge.ZmqProtocolError;
/** An instance of ZmqProtocolError. */
export type ZmqProtocolError = Bridge.ZmqProtocolError;

/** `RpcErrorCode` of bridge.ts. */
export const RpcErrorCode = bridge.RpcErrorCode;

/** `DEFAULT_MAX_MESSAGE_BYTES` of bridge.ts. */
export const DEFAULT_MAX_MESSAGE_BYTES = bridge.DEFAULT_MAX_MESSAGE_BYTES;

/** `RpcClient` of bridge.ts. */
export const RpcClient = bridge.RpcClient;
/** An instance of RpcClient. */
export type RpcClient = Bridge.RpcClient;

/** `RpcServer` of bridge.ts. */
export const RpcServer = bridge.RpcServer;
/** An instance of RpcServer. */
export type RpcServer = Bridge.RpcServer;
