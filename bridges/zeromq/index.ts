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

/** zeromq.js's `curveKeyPair()`: a new CURVE key pair, `{ publicKey, secretKey }` in Z85 (40 characters each). */
export const curveKeyPair = bridge.curveKeyPair;

/**
 * The message broker (mezzenger's server, done right): clients send on the recv port and receive on the pub
 * port; each message goes to every client with a matching berryMQ pattern.
 */
export const Broker = bridge.Broker;
/** An instance of Broker. */
export type Broker = Bridge.Broker;

/**
 * A client of the {@link Broker}: what the local bus dispatches under the export filters goes to the broker;
 * what the broker fans out under the import filters (the subscriptions) is injected.
 */
export const BrokerLink = bridge.BrokerLink;
/** An instance of BrokerLink. */
export type BrokerLink = Bridge.BrokerLink;

/** Reads a dead-letter file. */
export const readDeadLetters = bridge.readDeadLetters;

/** The broker holds `limit` unacknowledged messages already: it refused a batch that would go past it. */
export const BrokerFullError = bridge.BrokerFullError;
/** An instance of BrokerFullError. */
export type BrokerFullError = Bridge.BrokerFullError;

/**
 * A listener of a broker event (`client`, `client-gone`, `dead-letter`) threw; reported on the broker's `error`
 * event, never thrown into the broker (it stopped its receive loop, or was an uncaught exception).
 */
export const BrokerListenerError = bridge.BrokerListenerError;
/** An instance of BrokerListenerError. */
export type BrokerListenerError = Bridge.BrokerListenerError;

/** An acknowledged message sent with `noSubscriber: "refuse"` matched no subscriber: the broker refused it. */
export const BrokerNoSubscriberError = bridge.BrokerNoSubscriberError;
/** An instance of BrokerNoSubscriberError. */
export type BrokerNoSubscriberError = Bridge.BrokerNoSubscriberError;

/** One client holds `limit` unacknowledged messages already (`maxUnackedPerClient`): its batch was refused. */
export const BrokerQuotaError = bridge.BrokerQuotaError;
/** An instance of BrokerQuotaError. */
export type BrokerQuotaError = Bridge.BrokerQuotaError;

/**
 * The broker refused one acknowledged message at once, for good: its line is not an envelope a subscriber would
 * take, or it names another identifier or messageId than the PUBLISH head it came with (the broker holds and
 * releases by the head's, subscribers de-duplicate by the line's).
 */
export const BrokerRefusedError = bridge.BrokerRefusedError;
/** An instance of BrokerRefusedError. */
export type BrokerRefusedError = Bridge.BrokerRefusedError;

/** The broker did not confirm a batch within `sendTimeout` ms (the link retries), or welcome a link connecting in time. */
export const BrokerTimeoutError = bridge.BrokerTimeoutError;
/** An instance of BrokerTimeoutError. */
export type BrokerTimeoutError = Bridge.BrokerTimeoutError;

/** The persist file could not be read or written. */
export const PersistError = bridge.PersistError;
/** An instance of PersistError. */
export type PersistError = Bridge.PersistError;

/**
 * A failed authentication, reported at once on the side that sees it: the server refused this client's keys or
 * credentials, the client used a wrong server key, or a login was refused.
 */
export const RpcAuthError = bridge.RpcAuthError;
/** An instance of RpcAuthError. */
export type RpcAuthError = Bridge.RpcAuthError;

/**
 * An RPC end refused a call at once because `limit` calls are in progress already: calls this end runs for one
 * peer (`maxRunningCalls`) or for all (`maxRunningCallsTotal`) — the caller gets it from the wire, code -32004 —
 * or calls it waits answers for (`maxPendingCalls`).
 */
export const RpcBusyError = bridge.RpcBusyError;
/** An instance of RpcBusyError. */
export type RpcBusyError = Bridge.RpcBusyError;

/**
 * The caller stopped waiting for call `id` of `procedure` (`rpc.cancel`: a proxy whose own caller was lost,
 * timed out or closed): the reason the procedure's `this.signal` aborts with.
 */
export const RpcCancelledError = bridge.RpcCancelledError;
/** An instance of RpcCancelledError. */
export type RpcCancelledError = Bridge.RpcCancelledError;

/** The RPC end was closed: pending and later calls fail with this. */
export const RpcClosedError = bridge.RpcClosedError;
/** An instance of RpcClosedError. */
export type RpcClosedError = Bridge.RpcClosedError;

/**
 * A listener of an RPC server's or client's event (`connect`, `disconnect`, `login`, `logout`, `refused`) threw:
 * reported on its `error` event; the listeners after it still hear the event.
 */
export const RpcListenerError = bridge.RpcListenerError;
/** An instance of RpcListenerError. */
export type RpcListenerError = Bridge.RpcListenerError;

/** The far side has no procedure of that name (JSON-RPC -32601). */
export const RpcMethodNotFoundError = bridge.RpcMethodNotFoundError;
/** An instance of RpcMethodNotFoundError. */
export type RpcMethodNotFoundError = Bridge.RpcMethodNotFoundError;

/** The peer stopped answering heartbeats (or left): its pending calls fail with this. */
export const RpcPeerLostError = bridge.RpcPeerLostError;
/** An instance of RpcPeerLostError. */
export type RpcPeerLostError = Bridge.RpcPeerLostError;

/** The remote procedure threw: `remoteName` and `remoteMessage` are the remote error's name and message. */
export const RpcRemoteError = bridge.RpcRemoteError;
/** An instance of RpcRemoteError. */
export type RpcRemoteError = Bridge.RpcRemoteError;

/** No answer within the call timeout. */
export const RpcTimeoutError = bridge.RpcTimeoutError;
/** An instance of RpcTimeoutError. */
export type RpcTimeoutError = Bridge.RpcTimeoutError;

/** An RPC server dropped a frame for a client whose connection and backlog in the server are both full. */
export const RpcClientBackedUpError = bridge.RpcClientBackedUpError;
/** An instance of RpcClientBackedUpError. */
export type RpcClientBackedUpError = Bridge.RpcClientBackedUpError;

/** The RPC server tracks `maxClients` clients already: a frame from one more identity was dropped. */
export const RpcTooManyClientsError = bridge.RpcTooManyClientsError;
/** An instance of RpcTooManyClientsError. */
export type RpcTooManyClientsError = Bridge.RpcTooManyClientsError;

/** A frame that does not follow the broker or RPC protocol; `detail` says what was wrong. */
export const ZmqProtocolError = bridge.ZmqProtocolError;
/** An instance of ZmqProtocolError. */
export type ZmqProtocolError = Bridge.ZmqProtocolError;

/** JSON-RPC 2.0 error codes used on the wire. */
export const RpcErrorCode = bridge.RpcErrorCode;

/** Largest RPC frame decoded, in bytes, unless `maxMessageBytes` says otherwise (1 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = bridge.DEFAULT_MAX_MESSAGE_BYTES;

/**
 * The client end of the bidirectional RPC (pseud's Client): calls the server's procedures and registers its own,
 * which the server calls by this client's identity.
 */
export const RpcClient = bridge.RpcClient;
/** An instance of RpcClient. */
export type RpcClient = Bridge.RpcClient;

/**
 * The server end of the bidirectional RPC (pseud's Server): clients call its procedures, and it calls a
 * connected client's procedures by the client's identity (or, with `plain` or `authenticate`, by its user id).
 */
export const RpcServer = bridge.RpcServer;
/** An instance of RpcServer. */
export type RpcServer = Bridge.RpcServer;
