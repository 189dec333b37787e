import { BerryError, describe, errorText } from "../../lib/errors.js";

/** The broker holds `limit` unacknowledged messages already: it refused a batch that would go past it. */
export class BrokerFullError extends BerryError {
  readonly limit: number;

  /** Which of the broker's bounds was reached. */
  readonly bound: "maxUnacked" | "maxUnackedBytes";

  constructor(limit: number, refused: number, bound: "maxUnacked" | "maxUnackedBytes" = "maxUnacked") {
    const held = bound === "maxUnacked" ? `${limit} unacknowledged messages` : `${limit} bytes of unacknowledged messages`;
    super("BROKER_FULL", `broker full: ${held} held (${bound}); refused a batch of ${refused} acknowledged message(s)`);
    this.limit = limit;
    this.bound = bound;
  }
}

/**
 * The broker did not confirm a batch within `sendTimeout` ms (it is down or overloaded; the link retries),
 * or did not welcome a link connecting within its timeout.
 */
export class BrokerTimeoutError extends BerryError {
  readonly timeout: number;

  constructor(endpoint: string, timeout: number, what = "confirm a batch") {
    super("BROKER_TIMEOUT", `broker at ${endpoint} did not ${what} within ${timeout} ms`);
    this.timeout = timeout;
  }
}

/** A frame that does not follow the broker or RPC protocol; `detail` says what was wrong. */
export class ZmqProtocolError extends BerryError {
  constructor(detail: string, value: unknown) {
    super("ZMQ_PROTOCOL", `protocol error: ${detail} ${describe(value)}`);
  }
}

/** The persist file could not be read or written. */
export class PersistError extends BerryError {
  readonly file: string;

  constructor(file: string, cause: unknown) {
    super("PERSIST_FAILED", `persist file ${JSON.stringify(file)}: ${cause instanceof Error ? cause.message : describe(cause)}`, {
      cause,
    });
    this.file = file;
  }
}

/** The remote procedure threw: `remoteName` and `remoteMessage` are the remote error's name and message. */
export class RpcRemoteError extends BerryError {
  readonly procedure: string;
  readonly remoteName: string;
  readonly remoteMessage: string;
  /** The JSON-RPC error code from the wire. */
  readonly rpcCode: number;

  constructor(procedure: string, rpcCode: number, remoteName: string, remoteMessage: string) {
    super("RPC_REMOTE_ERROR", `remote procedure "${procedure}" failed: ${remoteName}: ${remoteMessage}`);
    this.procedure = procedure;
    this.rpcCode = rpcCode;
    this.remoteName = remoteName;
    this.remoteMessage = remoteMessage;
  }
}

/** The far side has no procedure of that name (JSON-RPC -32601). */
export class RpcMethodNotFoundError extends BerryError {
  readonly procedure: string;

  constructor(procedure: string) {
    super("RPC_METHOD_NOT_FOUND", `remote side has no procedure "${procedure}"`);
    this.procedure = procedure;
  }
}

/** No answer within the call timeout. */
export class RpcTimeoutError extends BerryError {
  readonly procedure: string;
  readonly timeout: number;

  constructor(procedure: string, timeout: number) {
    super("RPC_TIMEOUT", `call to "${procedure}" got no answer within ${timeout} ms`);
    this.procedure = procedure;
    this.timeout = timeout;
  }
}

/** The peer stopped answering heartbeats (or left): its pending calls fail with this. */
export class RpcPeerLostError extends BerryError {
  readonly peer: string;
  readonly silentMs: number;
  /** The server is there but at its maxClients: it said `full` and serves this client nothing for now. */
  readonly full: boolean;

  constructor(peer: string, silentMs: number, full = false) {
    super(
      "RPC_PEER_LOST",
      full
        ? `peer ${JSON.stringify(peer)} not serving: it is at its maxClients (it answers "full"); nothing for ${silentMs} ms`
        : `peer ${JSON.stringify(peer)} lost: no heartbeat for ${silentMs} ms`,
    );
    this.peer = peer;
    this.silentMs = silentMs;
    this.full = full;
  }
}

/**
 * A failed authentication, reported at once on the side that sees it: the server refused this client's
 * keys or credentials, the client used a wrong server key, or a login was refused.
 */
export class RpcAuthError extends BerryError {
  constructor(endpoint: string, detail: string) {
    super("RPC_AUTH_REFUSED", `authentication with ${endpoint} refused: ${detail}`);
  }
}

/**
 * A listener of an RPC server's or client's event (`connect`, `disconnect`, `login`, `logout`, `refused`)
 * threw: reported on its `error` event; the listeners after it still hear the event.
 */
export class RpcListenerError extends BerryError {
  readonly event: string;

  constructor(of: string, event: string, cause: unknown) {
    super("RPC_LISTENER_FAILED", `a listener of the ${of}'s '${event}' event threw: ${errorText(cause)}`, { cause });
    this.event = event;
  }
}

/**
 * The caller stopped waiting for call `id` of `procedure` (`rpc.cancel`: a proxy whose own caller was lost,
 * timed out or closed): the reason the procedure's `this.signal` aborts with.
 */
export class RpcCancelledError extends BerryError {
  readonly procedure: string;
  readonly id: number | string;

  constructor(procedure: string, id: number | string) {
    super("RPC_CANCELLED", `call ${JSON.stringify(id)} of "${procedure}" cancelled by its caller`);
    this.procedure = procedure;
    this.id = id;
  }
}

/** The RPC end was closed: pending and later calls fail with this. */
export class RpcClosedError extends BerryError {
  constructor(what: string) {
    super("RPC_CLOSED", `${what} is closed`);
  }
}

/** One client holds `limit` unacknowledged messages already (`maxUnackedPerClient`): its batch was refused. */
export class BrokerQuotaError extends BerryError {
  readonly clientId: string;
  readonly limit: number;

  /** Which of the client's quotas was reached. */
  readonly bound: "maxUnackedPerClient" | "maxUnackedBytesPerClient";

  constructor(
    clientId: string,
    limit: number,
    refused: number,
    bound: "maxUnackedPerClient" | "maxUnackedBytesPerClient" = "maxUnackedPerClient",
  ) {
    const held = bound === "maxUnackedPerClient" ? `${limit} unacknowledged messages` : `${limit} bytes of unacknowledged messages`;
    super(
      "BROKER_QUOTA",
      `broker quota: client ${clientId} holds ${held} (${bound}); refused a batch of ${refused} acknowledged message(s)`,
    );
    this.clientId = clientId;
    this.limit = limit;
    this.bound = bound;
  }
}

/** An acknowledged message sent with `noSubscriber: "refuse"` matched no subscriber: the broker refused it. */
export class BrokerNoSubscriberError extends BerryError {
  readonly identifier: string;
  readonly messageId: string;

  constructor(identifier: string, messageId: string) {
    super(
      "BROKER_NO_SUBSCRIBER",
      `no subscriber for ${JSON.stringify(identifier)} (message ${messageId}): the broker refused it (noSubscriber: "refuse")`,
    );
    this.identifier = identifier;
    this.messageId = messageId;
  }
}

/** The RPC server tracks `maxClients` clients already: a frame from one more identity was dropped. */
export class RpcTooManyClientsError extends BerryError {
  readonly limit: number;

  constructor(limit: number, identity: string) {
    super(
      "RPC_TOO_MANY_CLIENTS",
      `RPC server full: ${limit} clients (maxClients); dropped a frame from ${JSON.stringify(identity)}`,
    );
    this.limit = limit;
  }
}

/**
 * An RPC server dropped a frame (an answer, a call, a heartbeat) for a client whose connection took no more
 * (libzmq's 1,000 frames) and whose backlog in the server is full too: the client does not read, or reads
 * slower than it calls. Counted in `stats.unsent`; its caller's call times out.
 */
export class RpcClientBackedUpError extends BerryError {
  readonly identity: string;

  constructor(identity: string, frames: number, bytes: number) {
    super(
      "RPC_CLIENT_BACKED_UP",
      `RPC frame to ${JSON.stringify(identity)} dropped: its connection takes no more and ${frames} frames (${bytes} bytes) wait for it already`,
    );
    this.identity = identity;
  }
}

/**
 * The broker refused one acknowledged message at once, for good: its line is not an envelope a subscriber
 * would take, or it names another identifier or messageId than the PUBLISH head it came with (the broker
 * holds and releases by the head's, subscribers de-duplicate by the line's). Not resent; `reason` says why.
 */
export class BrokerRefusedError extends BerryError {
  readonly identifier: string;
  readonly messageId: string;
  readonly reason: string;

  constructor(identifier: string, messageId: string, reason: string) {
    super(
      "BROKER_REFUSED",
      `the broker refused acknowledged message ${JSON.stringify(messageId)} (${JSON.stringify(identifier)}) for good: ${reason}`,
    );
    this.identifier = identifier;
    this.messageId = messageId;
    this.reason = reason;
  }
}

/**
 * An RPC end refused a call at once because `limit` calls are in progress already: calls this end runs
 * for one peer (`maxRunningCalls`) or for all (`maxRunningCallsTotal`) — the caller gets it from the
 * wire, code -32004 — or calls it waits answers for (`maxPendingCalls`).
 */
export class RpcBusyError extends BerryError {
  readonly procedure: string;
  readonly limit: number;
  /** The option whose limit was reached. */
  readonly bound: string;

  constructor(procedure: string, limit: number, bound: string) {
    super("RPC_BUSY", `call to "${procedure}" refused: ${limit} calls in progress (${bound})`);
    this.procedure = procedure;
    this.limit = limit;
    this.bound = bound;
  }
}

/**
 * A listener of a broker event (`client`, `client-gone`, `dead-letter`) threw; reported on the broker's
 * `error` event, never thrown into the broker (it stopped its receive loop, or was an uncaught exception).
 */
export class BrokerListenerError extends BerryError {
  readonly event: string;

  constructor(event: string, about: string, cause: unknown) {
    super("BROKER_LISTENER_FAILED", `a listener of the broker's '${event}' event threw on ${about}: ${errorText(cause)}`, { cause });
    this.event = event;
  }
}
