import { isUtf8 } from "node:buffer";
import { randomBytes } from "node:crypto";
import { EventEmitter } from "eventemitter3";
import * as zmq from "zeromq";
import { type BerryError, emitError, InvalidArgumentError } from "../../lib/errors.js";
import { checkTimerDelay } from "../../lib/long-timer.js";
import { portNumber, positiveInteger } from "./check-options.js";
import { checkCurveProof, curvePublicKey } from "./curve-proof.js";
import { emitArgs } from "../../lib/emit-each.js";
import {
  RpcAuthError,
  RpcClientBackedUpError,
  RpcClosedError,
  RpcListenerError,
  RpcPeerLostError,
  RpcTooManyClientsError,
  ZmqProtocolError,
} from "./errors.js";
import { LoginThrottle } from "./login-throttle.js";
import { guardAuthenticate } from "./rpc-authenticate.js";
import { callBounds, heartbeatTimes, type Procedure, RpcCalls, RpcKind, type RpcOptions } from "./rpc-calls.js";
import { RpcClient } from "./rpc-client.js";
import { DEFAULT_MAX_MESSAGE_BYTES, rpcCodec, transportFrameLimit } from "./rpc-codec.js";
import { HeldFrames, type HeldPool } from "./held-frames.js";
import { ReportRate } from "./report-rate.js";
import { SendQueue } from "./send-queue.js";
import { isCurveKey } from "./z85.js";
import { type Authenticate, type ZapDecision, ZapHandler } from "./zap-handler.js";

// ZMTP PLAIN carries a username and a password of at most 255 bytes each: a login frame may not exceed it.
const MAX_PLAIN_FIELD_BYTES = 255;

// libzmq's draft ZMQ_ROUTER_NOTIFY and its flags: each connection of a peer that completed its handshake,
// and each end of one, arrives as [identity, empty frame], in order with that connection's frames.
const ZMQ_ROUTER_NOTIFY = 97;
const ZMQ_NOTIFY_CONNECT = 1;
const ZMQ_NOTIFY_DISCONNECT = 2;

// Why a client whose user logged in again on another connection is refused.
const REPLACED = "replaced by a newer login of the same user";

// A frame whose login went away or ended while it waited in the send queue (see #sendTo).
const NOT_NOW = new Error("not sent: its login is away or over");

// Frames held for one suspended login, each way (answers and calls to it; frames from its new connection).
const MAX_HELD_FRAMES = 1_000;
// Bytes held for all suspended logins together, each way: frames from their new connections, and
// answers and calls to them (1,000 answers of maxMessageBytes each would be 1 GiB for one login).
const MAX_HELD_INBOUND_BYTES = 64 * 1024 * 1024;
const MAX_HELD_OUTGOING_BYTES = 64 * 1024 * 1024;
// Bytes held for one suspended login, each way: one login (a valid user closing its connection with many
// large answers due) cannot take the whole of the bounds above from the others.
const MAX_HELD_BYTES_PER_LOGIN = 8 * 1024 * 1024;
// A client's backlog (see #out): frames its connection took no more of (libzmq queues 1,000 towards it), in
// order, tried again every BACKLOG_RETRY ms; past 10,000 frames or 32 MiB for one client (one frame always
// fits in an empty backlog, however large), or 256 MiB for all, a frame is dropped (stats.unsent,
// RpcClientBackedUpError).
const MAX_BACKLOG_FRAMES = 10_000;
const MAX_BACKLOG_BYTES = 32 * 1024 * 1024;
const MAX_BACKLOG_BYTES_TOTAL = 256 * 1024 * 1024;
// Calls that waited, run at most this many a turn for one client, fewer as its answers are larger (about
// DEFER_AT_BYTES of answers a turn, at least one): their answers come after the turn, so the backlog's depth
// cannot stop a turn in time (a turn ran 1,000 calls of 100 KB answers at once, past the backlog's bound).
const RELEASE_PER_TURN = 64;
// What a client's waiting calls may hold in requests (see #defer).
const MAX_DEFERRED_BYTES = 8 * 1024 * 1024;
const BACKLOG_RETRY = 5;
// Calls of a client owed this many frames (or bytes) not sent yet wait (their requests, not their answers:
// see #serveRpc), up to MAX_DEFERRED_CALLS or MAX_DEFERRED_BYTES of requests a client (8 times that for
// all), and run as it drains.
const DEFER_AT = 1_000;
const DEFER_AT_BYTES = 2 * 1024 * 1024;
const MAX_DEFERRED_CALLS = 10_000;
// Rejects a frame sent behind a client's backlog: it goes to the end of it (see #out).
const BACKLOGGED = new Error("behind the client's backlog");
// The send queue's turn for the backlogs (see #flushBacklogs): sends on the ROUTER go one at a time.
const FLUSH: (string | Buffer)[] = [];

/** A call waiting for its client's backlog to drain (see #serveRpc). */
interface DeferredCall {
  session: Session | undefined;
  body: Buffer;
}

/** A frame waiting in a client's backlog, and its sender's settlement. */
interface Backlogged {
  frames: (string | Buffer)[];
  resolve(): void;
  reject(error: unknown): void;
}

// What the calls of a login that ended fail with: its user is lost, since its connection went away.
function away(session: Session): RpcPeerLostError {
  return new RpcPeerLostError(session.userId, session.awaySince === undefined ? 0 : Date.now() - session.awaySince);
}

/** A login being checked: whether a connection of its identity began or ended since its frame came. */
interface LoginCheck {
  moved: boolean;
}

interface Held {
  frames: (string | Buffer)[];
  wanted: (() => boolean) | undefined;
}

/**
 * A client's login while it lasts. Identities are the clients' to choose, and a frame does not say which
 * connection it came on: the login is tied to its connection through libzmq's notifications. When that
 * connection ends, the login is suspended, not forgotten: nothing is served to or from the identity until a
 * login on the new connection proves the same user (then what was held goes out and is served), or the
 * login ends (another user logged in there, or none within heartbeatTimeout): what was held is dropped.
 */
interface Session {
  readonly userId: string;
  // The same user logged in on another identity since: refused here until this connection logs in again.
  replaced: boolean;
  // The connection of this login ended: a new one must prove the same user before anything is served.
  suspended: boolean;
  // Since when this login's connection is away (notified, or a send to it found no connection).
  awaySince: number | undefined;
  // Frames to the client held while it is away, in order (undefined: they go out at once); a request goes
  // out only if its call still waits for it (it may have timed out meanwhile).
  outgoing: HeldFrames<Held> | undefined;
  // RPC frames from the new connection, held until its login.
  readonly inbound: HeldFrames<Buffer>;
}

/** CURVE settings of a server: its key pair and the public keys of the clients it lets in. */
export interface ServerCurve {
  publicKey: string;
  secretKey: string;
  /** Z85 public keys of the allowed clients; any other client is refused during the handshake. Optional with `authenticate`. */
  allow?: readonly string[];
}

/** Options of {@link RpcServer}. */
export interface RpcServerOptions extends RpcOptions {
  /** Address to bind on (default `127.0.0.1`). */
  host?: string;
  /** Port (0 picks a free one). */
  port: number;
  /** Encrypt and authenticate with CURVE. */
  curve?: ServerCurve;
  /**
   * Authenticate clients with ZAP PLAIN (user name and password, checked by `authenticate`). Each client
   * then logs in as its user id, and `call` reaches a client by that user id. PLAIN is not encrypted.
   */
  plain?: boolean;
  /**
   * Decides who gets in (CURVE: after the allow-list, if any; PLAIN: always): returns the user id, or
   * `undefined` to refuse. With it (or `plain`), each client logs in, proving its credentials or its CURVE
   * secret key, and `call` reaches a client by its user id. Without it, CURVE clients are called by identity.
   */
  authenticate?: Authenticate;
  /** An `authenticate` call not settled after this many ms refuses the client (default 5,000). */
  authenticateTimeout?: number;
  /** `authenticate` calls in progress at once, handshakes and logins together (default 100); one more is refused at once. */
  maxPendingAuthentications?: number;
  /**
   * PLAIN password guessing: after 3 refused logins in a row from one source (an address and user name at
   * the handshake, a connection at its login frames), the source's next attempt is checked only after this
   * many ms, doubling with each refusal up to 60 s; attempts in the wait are refused without asking
   * `authenticate` (default 1,000; 0 turns it off).
   */
  loginRetryDelay?: number;
  /** Procedures this server does not have are delegated to the server behind this client (pseud's proxy). */
  proxy?: RpcClient;
  /** Most clients tracked at once (default 10,000); frames from further identities are dropped until one is lost. */
  maxClients?: number;
}

/** Events of an RPC server. */
export interface RpcServerEvents {
  /** A client (by identity) was heard from for the first time, or again after it was lost. */
  connect: [identity: string];
  /** A client stopped answering heartbeats; its pending calls failed. */
  disconnect: [identity: string];
  /** A client was refused: by ZAP (allow-list, `authenticate`), a failed CURVE handshake, or a refused login. */
  refused: [decision: ZapDecision];
  /** A client logged in as `userId` (PLAIN, or CURVE with `authenticate`). */
  login: [identity: string, userId: string];
  /**
   * A login ended: its client was lost, another user logged in under its identity, or its connection ended
   * and no login of the same user came within `heartbeatTimeout`. `undelivered`: frames held for it (or from
   * its new connection) and dropped, never given to anyone else.
   */
  logout: [identity: string, userId: string, undelivered: number];
  error: [error: BerryError];
}

/**
 * The server end of the bidirectional RPC (pseud's Server): clients call its procedures, and it calls
 * a connected client's procedures by the client's identity (or, with `plain` or `authenticate`, by its user id).
 * Heartbeats find dead clients; CURVE with an allow-list or `authenticate` keeps out unknown ones.
 * @example
 * const server = await RpcServer.listen({ port: 5555 });
 * server.register("hello", (name) => `Hello ${name}`);
 * const answer = await server.call("worker-1", "status");
 */
export class RpcServer extends EventEmitter<RpcServerEvents> {
  /**
   * `refused`: authentication refusals; `lost`: clients lost by heartbeat; `dropped`: frames from clients past
   * `maxClients`; `protocolErrors`: frames refused (malformed, unknown kind); `unreported`: errors caused by
   * peers and not emitted, past 10 a second; `undelivered`: frames held for a login whose connection ended
   * (or from its new connection) and dropped, as the login ended or past the bound; `voidLogins`: logins
   * whose connection ended while `authenticate` ran (not applied: the next connection must log in itself);
   * `unsent`: frames to a client dropped because its connection took no more (libzmq queues 1,000 frames
   * towards a client: one whose event loop is blocked, or that does not read, gets no more until it reads)
   * and its backlog in the server was full too (10,000 frames or 32 MiB a client, 256 MiB for all; or its
   * waiting calls: 10,000 or 8 MiB of requests; each reported as RpcClientBackedUpError).
   */
  readonly stats = { refused: 0, lost: 0, dropped: 0, protocolErrors: 0, unreported: 0, undelivered: 0, voidLogins: 0, unsent: 0 };
  readonly #calls: RpcCalls;
  readonly #router: zmq.Router;
  readonly #queue: SendQueue;
  readonly #context: zmq.Context | undefined;
  readonly #peers = new Map<string, number>();
  // With a login: the login of each identity, and the identity of each user id; the nonce each CURVE login
  // must sign. A replaced session (its user logged in again elsewhere) is refused, not asked to log in again
  // (which would take the user back, and the other one would do the same, at every heartbeat).
  readonly #sessions = new Map<string, Session>();
  readonly #identityOf = new Map<string, string>();
  readonly #nonces = new Map<string, string>();
  // Identities whose login is being checked (a login frame crossing it is dropped: one authenticate each),
  // each with whether a connection of it began or ended since its login frame came: a login is applied only
  // to the connection it came on. Only these are kept: a table of every identity's connection grew with
  // each connection that came and went (1,000 an interval of local churn; without bound for a long
  // heartbeatInterval), whereas these are at most one a tracked client (maxClients), and the logins of
  // identities forgotten meanwhile (see #forget), each within an authenticate call (maxPendingAuthentications).
  readonly #loggingIn = new Map<string, LoginCheck>();
  // Bytes held for every suspended login together, each way.
  readonly #heldInbound: HeldPool = { bytes: 0, max: MAX_HELD_INBOUND_BYTES };
  readonly #heldOutgoing: HeldPool = { bytes: 0, max: MAX_HELD_OUTGOING_BYTES };
  // The login each frame in the send queue is for (see #sendTo).
  readonly #bound = new WeakMap<(string | Buffer)[], Session>();
  readonly #plain: boolean;
  readonly #curve: ServerCurve | undefined;
  readonly #loginRequired: boolean;
  readonly #authenticate: Authenticate | undefined;
  readonly #throttle: LoginThrottle;
  readonly #callTimeout: number;
  readonly #heartbeatTimeout: number;
  readonly #maxClients: number;
  #full = false;
  readonly #reportRate = new ReportRate();
  // Each backlogged client's frames (see #out), and the timer trying them again.
  readonly #backlogs = new Map<string, HeldFrames<Backlogged>>();
  readonly #backlogPool: HeldPool = { bytes: 0, max: MAX_BACKLOG_BYTES_TOTAL };
  #backlogTimer: NodeJS.Timeout | undefined;
  readonly #deferred = new Map<string, HeldFrames<DeferredCall>>();
  // Frames and bytes each client is owed and not sent yet (see #deep).
  readonly #owed = new Map<string, { frames: number; bytes: number }>();
  // The bytes of the last frame for each client with waiting calls (see #flushBacklogs).
  readonly #lastBytes = new Map<string, number>();
  readonly #deferredPool: HeldPool = { bytes: 0, max: 8 * MAX_DEFERRED_BYTES };
  #zap: ZapHandler | undefined;
  #timer: NodeJS.Timeout | undefined;
  #port = 0;
  #closed = false;
  // While close() runs: what `logout` listeners threw, thrown on by close() once all is closed.
  #closingThrows: unknown[] | undefined;

  private constructor(options: RpcServerOptions) {
    super();
    this.#callTimeout = checkTimerDelay("callTimeout", options.callTimeout ?? 5_000);
    const { interval, timeout } = heartbeatTimes(options);
    this.#heartbeatTimeout = timeout;
    this.#maxClients = positiveInteger("maxClients", options.maxClients ?? 10_000);
    const maxMessageBytes = positiveInteger("maxMessageBytes", options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    this.#calls = new RpcCalls(rpcCodec(options.codec ?? "json", maxMessageBytes), callBounds(options));
    const { curve, proxy } = options;
    this.#plain = options.plain === true;
    const { authenticate } = options;
    if (authenticate !== undefined && typeof authenticate !== "function")
      throw new InvalidArgumentError("authenticate", authenticate, "a function");
    this.#authenticate =
      authenticate === undefined
        ? undefined
        : guardAuthenticate(authenticate, {
            timeout: checkTimerDelay("authenticateTimeout", options.authenticateTimeout ?? 5_000),
            maxPending: positiveInteger("maxPendingAuthentications", options.maxPendingAuthentications ?? 100),
          });
    this.#throttle = new LoginThrottle(checkTimerDelay("loginRetryDelay", options.loginRetryDelay ?? 1_000, 0));
    if (this.#plain && curve !== undefined)
      throw new InvalidArgumentError("plain", true, "not together with curve (one mechanism per socket)");
    if (this.#plain && this.#authenticate === undefined)
      throw new InvalidArgumentError("authenticate", undefined, "a function when plain is set");
    if (curve !== undefined) {
      if (!isCurveKey(curve.publicKey))
        throw new InvalidArgumentError("curve.publicKey", curve.publicKey, "a Z85 CURVE key (40 characters)");
      if (!isCurveKey(curve.secretKey))
        throw new InvalidArgumentError("curve.secretKey", "(hidden)", "a Z85 CURVE key (40 characters)");
      // Keys of two pairs (or swapped): every client failed the handshake, told as "wrong server key?".
      if (curvePublicKey(curve.secretKey) !== curve.publicKey)
        throw new InvalidArgumentError("curve.publicKey", curve.publicKey, "the public key of curve.secretKey (one pair of curveKeyPair())");
      if (curve.allow === undefined && this.#authenticate === undefined) {
        throw new InvalidArgumentError("curve.allow", undefined, "a list of public keys (or an authenticate function)");
      }
      for (const key of curve.allow ?? [])
        if (!isCurveKey(key)) throw new InvalidArgumentError("curve.allow[]", key, "a Z85 CURVE public key");
    }
    this.#curve = curve;
    this.#loginRequired = this.#plain || (curve !== undefined && this.#authenticate !== undefined);
    if (proxy !== undefined) {
      if (!(proxy instanceof RpcClient)) throw new InvalidArgumentError("proxy", proxy, "an RpcClient");
      // A random proxy id: a call whose `via` already holds it went round a loop of proxies.
      this.#calls.delegate(RpcClient.forwarder(proxy), randomBytes(8).toString("hex"));
    }
    // Its own context, so that its ZAP handler (and its decisions) is not shared with other sockets.
    if (curve !== undefined || this.#plain) this.#context = new zmq.Context();
    this.#router = new zmq.Router({
      linger: 0,
      mandatory: true, // a call to an unknown identity fails at once instead of vanishing
      // A send to a client whose connection is full fails at once (EAGAIN), and the frame waits in the
      // client's backlog (see #out). zeromq.js waited for room on any connection instead: behind that send
      // every other client's frames waited, and with another client's connection having room it dropped it.
      sendTimeout: 0,
      // ZMTP heartbeats, answered by the client's libzmq (not its JavaScript): a connection that brings
      // nothing for heartbeatTimeout after a PING is closed. Without them, a connection whose client side
      // was gone while this side stayed open (a NAT rebinding, a link dead without a TCP close) held the
      // client's identity for good, and the ROUTER refused its new connections under that identity.
      heartbeatInterval: interval,
      heartbeatTimeout: this.#heartbeatTimeout,
      maxMessageSize: transportFrameLimit(maxMessageBytes),
      ...(this.#context === undefined ? {} : { context: this.#context, zapDomain: "berrymq" }),
      ...(curve === undefined ? {} : { curveServer: true, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey }),
      ...(this.#plain ? { plainServer: true } : {}),
    });
    // A client with a wrong server key fails the CURVE handshake here; say so at once.
    this.#router.events.on("handshake:error:protocol", (event) => {
      this.#refused({
        mechanism: curve === undefined ? "PLAIN" : "CURVE",
        publicKey: "",
        address: event.address,
        allowed: false,
        reason: event.error.message,
      });
    });
    // With logins, a login belongs to its connection (see Session): libzmq tells of each one.
    if (this.#loginRequired) {
      try {
        (this.#router as unknown as { setInt32Option(option: number, value: number): void }).setInt32Option(
          ZMQ_ROUTER_NOTIFY,
          ZMQ_NOTIFY_CONNECT | ZMQ_NOTIFY_DISCONNECT,
        );
      } catch (error) {
        this.#router.close();
        throw new InvalidArgumentError("authenticate", "(set)", `a libzmq with draft ZMQ_ROUTER_NOTIFY (${String(error)})`);
      }
    }
    // A frame for a login waits in the queue behind others: its turn may come after its connection ended.
    this.#queue = new SendQueue({
      send: (frames) => {
        if (frames === FLUSH) return this.#flushBacklogs();
        // Behind a backlog: to its end, in order (see #out).
        if (this.#backlogs.has(String(frames[0]))) return Promise.reject(BACKLOGGED);
        return this.#routerSend(frames);
      },
    });
    this.#timer = setInterval(() => this.#checkPeers(), interval);
  }

  /**
   * Binds the server and starts serving.
   * @throws InvalidArgumentError for bad options or keys; a zeromq error when the port is taken.
   */
  static async listen(options: RpcServerOptions): Promise<RpcServer> {
    portNumber("port", options.port);
    const server = new RpcServer(options);
    try {
      if (server.#context !== undefined) {
        const allow = options.curve?.allow === undefined ? undefined : new Set(options.curve.allow);
        const authenticate = server.#authenticate;
        server.#zap = await ZapHandler.start(
          server.#context,
          (mechanism, credentials) => {
            if (mechanism === "CURVE" && allow !== undefined && !allow.has(credentials.publicKey ?? "")) return undefined;
            if (authenticate === undefined) return credentials.publicKey;
            if (mechanism !== "PLAIN") return authenticate(mechanism, credentials);
            const { username = "", password = "" } = credentials;
            return server.#throttled(`zap\n${credentials.address}\n${username}`, false, async () => {
              const userId = await authenticate(mechanism, credentials);
              if (userId !== undefined) server.#throttle.verified(username, password);
              return userId;
            });
          },
          (decision) => {
            if (!decision.allowed) server.#refused(decision);
          },
        );
      }
      await server.#router.bind(`tcp://${options.host ?? "127.0.0.1"}:${options.port === 0 ? "*" : options.port}`);
      const endpoint = server.#router.lastEndpoint ?? "";
      server.#port = Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
    } catch (error) {
      server.close();
      throw error;
    }
    void server.#serve();
    return server;
  }

  /** The bound port. */
  get port(): number {
    return this.#port;
  }

  /** Identities of the clients heard from and not lost. */
  get clients(): string[] {
    return [...this.#peers.keys()];
  }

  /** User ids of the clients logged in and not lost (a login whose connection ended counts until it ends). */
  get users(): string[] {
    return [...this.#identityOf.keys()];
  }

  /** Calls to clients waiting for an answer. */
  get pending(): number {
    return this.#calls.pending;
  }

  /** Registers a procedure clients may call. */
  register(name: string, fn: Procedure): this {
    this.#calls.register(name, fn);
    return this;
  }

  /**
   * Calls procedure `name` of a connected client: by its user id with `plain` or `authenticate` (a
   * client cannot claim another's), by its identity otherwise.
   * @throws RpcRemoteError (the client's procedure threw), RpcMethodNotFoundError, RpcTimeoutError,
   * RpcPeerLostError (the client is not connected or died during the call), RpcClosedError.
   */
  call(peer: string, name: string, ...args: unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(new RpcClosedError("RPC server"));
    const identity = this.#loginRequired ? this.#identityOf.get(peer) : peer;
    if (identity === undefined || !this.#peers.has(identity))
      return Promise.reject(new RpcPeerLostError(peer, this.#heartbeatTimeout));
    // While its connection is away, the request waits for the same user's next login (or for the call's end).
    const session = this.#sessions.get(identity);
    return this.#calls.call(identity, name, args, this.#callTimeout, (frame, wanted) =>
      this.#sendTo(identity, session, [identity, RpcKind.rpc, frame], wanted),
    );
  }

  /** Closes the socket (linger 0) and the ZAP handler; pending calls fail with RpcClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const thrown: unknown[] = [];
    this.#closingThrows = thrown;
    try {
      // Each login ends: what was held for it or from it is dropped, counted and told (`logout`).
      for (const [identity, session] of [...this.#sessions]) this.#endSession(identity, session, new RpcClosedError("RPC server"));
    } finally {
      // Closed whatever a `logout` listener throws (thrown on from here once all is closed).
      this.#closingThrows = undefined;
      this.#calls.fail(undefined, new RpcClosedError("RPC server"));
      this.#calls.abortRunning(undefined, new RpcClosedError("RPC server"));
      this.#dropBacklogs(undefined, new RpcClosedError("RPC server"));
      this.#router.close();
      this.#zap?.close();
    }
    if (thrown.length > 0) throw thrown[0];
  }

  async #serve(): Promise<void> {
    try {
      for await (const [identityFrame, kindFrame, body] of this.#router) {
        // Identities are kept as strings: bytes that are no UTF-8 decode lossily (to U+FFFD), so a peer could
        // name another's identity with other bytes, and be served as that client (answer the server's calls
        // to its user, suspend its login). Such a routing id could not be answered either (its string
        // encodes to other bytes): an id libzmq made up for a peer that set none (a zero byte and 4 random
        // bytes) is refused here too.
        if (identityFrame === undefined || !isUtf8(identityFrame)) {
          this.stats.protocolErrors++;
          this.#reportPeerError(new ZmqProtocolError("RPC frame refused: its routing id is not UTF-8:", identityFrame?.toString("hex")));
          continue;
        }
        const identity = identityFrame.toString();
        if (this.#loginRequired && kindFrame !== undefined && kindFrame.length === 0 && body === undefined) {
          // A connection of this identity began or ended (or its peer mimics that, which suspends only itself).
          this.#connectionChanged(identity);
          continue;
        }
        if (!this.#peers.has(identity) && this.#peers.size >= this.#maxClients) {
          this.stats.dropped++;
          // Said once per episode, not per frame: a flood of identities must not become a flood of events.
          if (!this.#full) this.#report(new RpcTooManyClientsError(this.#maxClients, identity));
          this.#full = true;
          // Its heartbeat is answered (one frame, no state kept): told, the client keeps this connection,
          // which its next heartbeat gets served once a slot frees. A connection it made again instead could
          // come while the ROUTER still held the old one under its identity: the ROUTER never serves that
          // one, and the client waited for its next try (up to 10 s) after the slot freed.
          if (kindFrame?.toString() === RpcKind.heartbeat) this.#send([identity, RpcKind.full]);
          continue;
        }
        if (this.#peers.size < this.#maxClients) this.#full = false; // room again: the next drop is news
        if (!this.#peers.has(identity)) this.#tell("connect", identity);
        this.#peers.set(identity, Date.now());
        const kind = kindFrame?.toString();
        const session = this.#sessions.get(identity);
        if (kind === RpcKind.login) {
          if (this.#loggingIn.has(identity)) continue;
          const check: LoginCheck = { moved: false };
          this.#loggingIn.set(identity, check);
          void this.#login(identity, body, check).finally(() => this.#loggingIn.delete(identity));
        } else if (kind === RpcKind.loginAsk) {
          if (this.#loginRequired) this.#askLogin(identity);
          else this.#send([identity, RpcKind.loginOk, ""]); // nothing to prove here
        } else if (
          this.#loginRequired &&
          (session === undefined || session.suspended || session.replaced) &&
          (kind === RpcKind.rpc || kind === RpcKind.heartbeat)
        ) {
          // Not logged in (a new connection, or this server restarted): nothing is served before that. A
          // suspended login holds the new connection's calls and answers until it proves the same user. A
          // replaced one is still alive (its heartbeats are answered) but its calls are refused.
          if (session?.suspended === true && kind === RpcKind.rpc && body !== undefined) this.#holdInbound(session, body);
          else if (session?.replaced !== true) this.#askLogin(identity);
          else if (kind === RpcKind.heartbeat) this.#send([identity, RpcKind.heartbeat]);
          else this.#send([identity, RpcKind.loginRefused, REPLACED]);
        } else if (kind === RpcKind.heartbeat) {
          this.#send([identity, RpcKind.heartbeat]);
        } else if (kind === RpcKind.rpc && body !== undefined) {
          this.#serveRpc(identity, session, body);
        } else {
          this.stats.protocolErrors++;
          this.#reportPeerError(new ZmqProtocolError(`RPC frame from ${JSON.stringify(identity)} of unknown kind`, kind));
        }
      }
    } catch (error) {
      if (!this.#closed) this.#report(new ZmqProtocolError("RPC receive loop failed:", String(error)));
    }
  }

  // Answers go to the connection the request came on: with a login, only while that login lasts (held while
  // its connection is away, see Session).
  // A client whose backlog is deep (it reads slower than it calls: see #out) has its calls wait, in order,
  // run as the backlog drains: their answers are not made to wait in memory, and none is dropped.
  #serveRpc(identity: string, session: Session | undefined, body: Buffer): void {
    const deferred = this.#deferred.get(identity);
    if (deferred !== undefined || this.#deep(identity)) {
      this.#defer(identity, deferred, { session, body });
      return;
    }
    this.#runRpc(identity, session, body);
  }

  // Whether a client is owed DEFER_AT frames, or DEFER_AT_BYTES, not sent yet (in the send
  // queue or its backlog): its calls wait (see #serveRpc). The backlog itself fills only as the queue's
  // sends come to it, after the receive loop ran on through many more calls.
  // A backlogged client's calls running here count too: their answers will join the backlog.
  #deep(identity: string): boolean {
    const owed = this.#owed.get(identity);
    if (owed === undefined) return false;
    const running = this.#backlogs.has(identity) ? this.#calls.runningFor(identity) : 0;
    return owed.frames + running >= DEFER_AT || owed.bytes >= DEFER_AT_BYTES;
  }

  #defer(identity: string, deferred: HeldFrames<DeferredCall> | undefined, call: DeferredCall): void {
    let calls = deferred;
    if (calls === undefined) {
      calls = new HeldFrames<DeferredCall>(this.#deferredPool, MAX_DEFERRED_CALLS, MAX_DEFERRED_BYTES);
      this.#deferred.set(identity, calls);
      this.#armBacklogs();
    }
    if (calls.hold(call, call.body.length)) return;
    // Not run, not answered: its caller's call times out.
    this.stats.unsent++;
    this.#reportPeerError(new RpcClientBackedUpError(identity, calls.length, this.#deferredPool.bytes));
  }

  #runRpc(identity: string, session: Session | undefined, body: Buffer): void {
    this.#calls
      .handle(identity, body, (frame) => this.#sendTo(identity, session, [identity, RpcKind.rpc, frame]))
      .catch((error: unknown) => {
        if (!(error instanceof ZmqProtocolError)) return;
        this.stats.protocolErrors++;
        this.#reportPeerError(error);
      });
  }

  // Sends to the client of `session` (none: no login here): held while its connection is away, dropped once
  // the login ended (never sent to whoever uses the identity next).
  #sendTo(identity: string, session: Session | undefined, frames: (string | Buffer)[], wanted?: () => boolean): Promise<void> {
    if (session === undefined) return this.#out(frames);
    if (this.#sessions.get(identity) !== session) {
      this.stats.undelivered++;
      return Promise.reject(away(session));
    }
    if (session.outgoing !== undefined) return this.#holdOutgoing(session, frames, wanted);
    this.#bound.set(frames, session);
    return this.#out(frames).catch((error: unknown) => {
      // Its turn came once the login was away (held) or over (dropped): decided again.
      if (error === NOT_NOW) return this.#sendTo(identity, session, frames, wanted);
      // Its connection is gone and the notification not read yet: held like the frames sent after it.
      if ((error as { code?: unknown }).code !== "EHOSTUNREACH" || this.#sessions.get(identity) !== session) throw error;
      this.#away(session);
      return this.#holdOutgoing(session, frames, wanted);
    });
  }

  #holdOutgoing(session: Session, frames: (string | Buffer)[], wanted: (() => boolean) | undefined): Promise<void> {
    if (session.outgoing?.hold({ frames, wanted }, frameBytes(frames)) === true) return Promise.resolve();
    this.stats.undelivered++;
    return Promise.reject(away(session));
  }

  // Its connection is away: what is sent to it is held from now on.
  #away(session: Session): void {
    session.awaySince ??= Date.now();
    session.outgoing ??= new HeldFrames(this.#heldOutgoing, MAX_HELD_FRAMES, MAX_HELD_BYTES_PER_LOGIN);
  }

  // Empties the frames held for `session`'s client: they go out at once from now on.
  #takeOutgoing(session: Session): Held[] {
    const outgoing = session.outgoing?.take() ?? [];
    session.outgoing = undefined;
    return outgoing;
  }

  #holdInbound(session: Session, body: Buffer): void {
    if (!session.inbound.hold(body, body.length)) this.stats.undelivered++;
  }

  #dropInbound(session: Session): number {
    const dropped = session.inbound.take().length;
    this.stats.undelivered += dropped;
    return dropped;
  }

  // A connection of `identity` began or ended: logins being checked no longer apply to it, and its login is
  // suspended until the client proves the same user again. What came from the ended connection while
  // suspended is dropped (a later connection may be someone else's).
  #connectionChanged(identity: string): void {
    const check = this.#loggingIn.get(identity);
    if (check !== undefined) check.moved = true;
    this.#nonces.delete(identity);
    const session = this.#sessions.get(identity);
    if (session === undefined || session.replaced) {
      if (session !== undefined) this.#endSession(identity, session, away(session));
      this.#forget(identity);
      return;
    }
    this.#dropInbound(session);
    session.suspended = true;
    this.#away(session);
  }

  // An identity holding nothing (no login, or one that ended, and a connection that began or ended): its
  // slot among maxClients is freed now, not at heartbeatTimeout. A valid user making connection after
  // connection under new identities (each heartbeating or logging in, then gone) held a slot with each:
  // it locked every new client out for as long as it went on, and heartbeatTimeout after. If its connection
  // is in fact up (this was a connect), its next frame takes a slot again.
  #forget(identity: string): void {
    if (!this.#peers.delete(identity)) return;
    this.#nonces.delete(identity);
    const gone = new RpcPeerLostError(identity, 0);
    this.#calls.fail(identity, gone);
    this.#calls.abortRunning(identity, gone);
    this.#dropBacklogs(identity, gone);
    this.#tell("disconnect", identity);
  }

  // The same user logged in on the new connection: what was held goes out, then what it sent is served.
  #resume(identity: string, session: Session): void {
    const outgoing = this.#takeOutgoing(session);
    session.suspended = false;
    session.awaySince = undefined;
    for (const { frames, wanted } of outgoing) {
      if (wanted?.() !== false) this.#sendTo(identity, session, frames, wanted).catch(() => undefined);
    }
    for (const body of session.inbound.take()) this.#serveRpc(identity, session, body);
  }

  // Ends a login: its pending calls fail with `error`, the calls it made stop, and what was held is dropped.
  #endSession(identity: string, session: Session, error: BerryError): void {
    if (this.#sessions.get(identity) !== session) return;
    this.#sessions.delete(identity);
    if (this.#identityOf.get(session.userId) === identity) this.#identityOf.delete(session.userId);
    const dropped = this.#takeOutgoing(session).length;
    const undelivered = dropped + this.#dropInbound(session);
    this.stats.undelivered += dropped;
    this.#calls.fail(identity, error);
    this.#calls.abortRunning(identity, error); // their answers are for this login only: dropped
    this.#tell("logout", identity, session.userId, undelivered);
  }

  // One nonce per identity until it is lost: a login crossing a second ask still signs the right one.
  #askLogin(identity: string): void {
    let nonce = this.#nonces.get(identity);
    if (nonce === undefined) {
      nonce = randomBytes(16).toString("base64");
      this.#nonces.set(identity, nonce);
    }
    this.#send([identity, RpcKind.loginAsk, nonce]);
  }

  // The login binds this identity to its user id, since ZeroMQ does not tell which connection a frame's
  // ZAP user id belongs to: PLAIN sends the credentials ZAP checked again; CURVE proves it holds the
  // secret key of the public key it names, for this server's nonce and this identity.
  async #login(identity: string, body: Buffer | undefined, check: LoginCheck): Promise<void> {
    const nonce = this.#nonces.get(identity);
    let who = "";
    let userId: string | undefined;
    let reason = "credentials refused";
    try {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body?.toString() ?? "");
      } catch {
        // Not V8's message: it quotes the frame, which holds a password.
        throw new Error("a login frame that is not JSON");
      }
      const { username, password, publicKey, proof } = (parsed ?? {}) as Record<string, unknown>;
      if (!this.#loginRequired || this.#authenticate === undefined) throw new Error("no login here");
      if (this.#plain && typeof username === "string" && typeof password === "string") {
        // PLAIN's own bound (ZMTP gives each a length byte): a longer name is no account of a handshake,
        // and the throttle must not keep one for each of 10,000 sources (a 60 KB name each: 600 MB).
        if (Buffer.byteLength(username) > MAX_PLAIN_FIELD_BYTES || Buffer.byteLength(password) > MAX_PLAIN_FIELD_BYTES)
          throw new Error(`a PLAIN username or password over ${MAX_PLAIN_FIELD_BYTES} bytes`);
        who = username;
        const authenticate = this.#authenticate;
        // By account, not connection: a guesser opening a connection for every few guesses was not held.
        // Credentials a handshake just accepted are checked even so (they are no guess): the account's
        // owner logs in while someone else guesses at it.
        const verified = this.#throttle.wasVerified(username, password);
        userId = await this.#throttled(`login\n${username}`, verified, () => authenticate("PLAIN", { address: "", username, password }));
      } else if (this.#curve !== undefined && typeof publicKey === "string" && typeof proof === "string" && nonce !== undefined) {
        who = publicKey;
        const allowed = this.#curve.allow === undefined || this.#curve.allow.includes(publicKey);
        if (allowed && checkCurveProof(this.#curve, publicKey, nonce, identity, proof)) {
          userId = await this.#authenticate("CURVE", { address: "", publicKey });
        }
      }
    } catch (error) {
      userId = undefined;
      reason = (error as Error).message;
    }
    // Closed while it was checked: nothing held may be served now (close() dropped and counted it).
    if (this.#closed) return;
    // The connection it came on ended while it was checked: void either way (a refusal must not reach the
    // next connection, an acceptance must not make it that user); whoever is there now is asked to log in.
    const stale = check.moved;
    if (stale && typeof userId === "string" && userId.length > 0) {
      this.stats.voidLogins++;
      this.#askLogin(identity);
      return;
    }
    if (typeof userId !== "string" || userId.length === 0) {
      const mechanism = this.#plain ? "PLAIN" : "CURVE";
      this.#refused({
        mechanism,
        publicKey: this.#plain ? "" : who,
        username: this.#plain ? who : "",
        address: "",
        allowed: false,
        reason,
      });
      // The client learns only that it was refused: why (a hook's error, a bound) is for the server's events.
      if (stale) this.#askLogin(identity);
      else this.#send([identity, RpcKind.loginRefused, "credentials refused"]);
      return;
    }
    let session = this.#sessions.get(identity);
    const known = session !== undefined && session.userId === userId && !session.replaced;
    if (session !== undefined && session.userId !== userId) {
      // Another user on this identity: the login before ends here, and nothing held for it is given to this one.
      this.#endSession(identity, session, away(session));
      session = undefined;
    }
    // The newest login of a user wins (a restarted client comes back under a new identity).
    const previous = this.#identityOf.get(userId);
    const before = previous === undefined ? undefined : this.#sessions.get(previous);
    if (previous !== undefined && previous !== identity && before !== undefined) {
      if (before.suspended) {
        this.#endSession(previous, before, away(before));
        this.#forget(previous);
      } else {
        before.replaced = true;
        this.#send([previous, RpcKind.loginRefused, REPLACED]);
      }
    }
    if (session === undefined) {
      const inbound = new HeldFrames<Buffer>(this.#heldInbound, MAX_HELD_FRAMES, MAX_HELD_BYTES_PER_LOGIN);
      session = { userId, replaced: false, suspended: false, awaySince: undefined, outgoing: undefined, inbound };
      this.#sessions.set(identity, session);
    }
    session.replaced = false;
    this.#identityOf.set(userId, identity);
    if (!known) this.#tell("login", identity, userId); // a second login crossing an ask is no news
    this.#send([identity, RpcKind.loginOk, userId]);
    if (session.suspended || session.outgoing !== undefined) this.#resume(identity, session);
  }

  // A password guess is checked only when its source is not waiting (LoginThrottle); a refusal (not a
  // failure of the hook, which says nothing of the password) makes it wait longer.
  async #throttled(
    source: string,
    verified: boolean,
    authenticate: () => string | undefined | Promise<string | undefined>,
  ): Promise<string | undefined> {
    if (!verified && this.#throttle.waiting(source)) throw new Error("too many refused logins from this source: waiting (loginRetryDelay)");
    const userId = await authenticate();
    if (userId === undefined) this.#throttle.refused(source);
    else this.#throttle.accepted(source);
    return userId;
  }

  #send(frames: (string | Buffer)[]): void {
    this.#out(frames).catch(() => undefined);
  }

  // A frame to the ROUTER, unless it is for a login away or over (see #sendTo).
  #routerSend(frames: (string | Buffer)[]): Promise<void> {
    const session = this.#bound.get(frames);
    const identity = String(frames[0]);
    if (session !== undefined && (this.#sessions.get(identity) !== session || session.outgoing !== undefined))
      return Promise.reject(NOT_NOW);
    return this.#router.send(frames);
  }

  // Sends a frame in its turn. One its client's connection takes no more of (a burst it reads slower than
  // the answers come, or no reading at all) waits in the client's backlog, with every later frame for it,
  // and goes when there is room: before, it was dropped while another client's connection had room (a
  // burst of 8,000 calls lost 3,500 answers), and held every client's frames behind it while none had.
  #out(frames: (string | Buffer)[]): Promise<void> {
    const identity = String(frames[0]);
    const bytes = frameBytes(frames);
    // Owed until sent or failed, in the send queue or the backlog (see #deep).
    let owed = this.#owed.get(identity);
    if (owed === undefined) {
      owed = { frames: 0, bytes: 0 };
      this.#owed.set(identity, owed);
    }
    owed.frames++;
    owed.bytes += bytes;
    if (this.#deferred.has(identity)) this.#lastBytes.set(identity, bytes);
    const paid = owed;
    const settled = (): void => {
      paid.frames--;
      paid.bytes -= bytes;
      if (paid.frames === 0 && this.#owed.get(identity) === paid) this.#owed.delete(identity);
    };
    const sent = this.#queue.send(frames).catch((error: unknown) => {
      if (error !== BACKLOGGED && (error as { code?: unknown }).code !== "EAGAIN") throw error;
      return new Promise<void>((resolve, reject) => this.#backlog(identity, bytes, { frames, resolve, reject }));
    });
    sent.then(settled, settled);
    return sent;
  }

  #backlog(identity: string, bytes: number, waiting: Backlogged): void {
    let backlog = this.#backlogs.get(identity);
    if (backlog === undefined) {
      if (this.#closed) {
        waiting.reject(new RpcClosedError("RPC server"));
        return;
      }
      backlog = new HeldFrames<Backlogged>(this.#backlogPool, MAX_BACKLOG_FRAMES, MAX_BACKLOG_BYTES);
      this.#backlogs.set(identity, backlog);
      this.#armBacklogs();
    }
    if (backlog.hold(waiting, bytes, true)) return;
    // Counted: an answer dropped here was lost without a trace, its caller waiting its whole callTimeout.
    this.stats.unsent++;
    const error = new RpcClientBackedUpError(identity, backlog.length, this.#backlogPool.bytes);
    this.#reportPeerError(error);
    waiting.reject(error);
  }

  // Each backlog's frames, oldest first, while its client's connection takes them; in the send queue's turn.
  async #flushBacklogs(): Promise<void> {
    await this.#sendBacklogs();
    // Then the calls that waited, while their client's backlog is shallow (their answers join it later, so
    // at most RELEASE_PER_TURN a turn).
    for (const [identity, calls] of this.#deferred) {
      const budget = Math.max(1, Math.min(RELEASE_PER_TURN, Math.floor(DEFER_AT_BYTES / (this.#lastBytes.get(identity) ?? 1))));
      for (let run = 0; run < budget && calls.length > 0 && !this.#deep(identity); run++) {
        const call = calls.shift() as DeferredCall;
        this.#runRpc(identity, call.session, call.body);
      }
      if (calls.length > 0) continue;
      this.#deferred.delete(identity);
      this.#lastBytes.delete(identity);
    }
    if (this.#backlogs.size === 0 && this.#deferred.size === 0) this.#stopBacklogs();
  }

  async #sendBacklogs(): Promise<void> {
    for (const [identity, backlog] of this.#backlogs) {
      for (let waiting = backlog.first(); waiting !== undefined; waiting = backlog.first()) {
        try {
          await this.#routerSend(waiting.frames);
        } catch (error) {
          if ((error as { code?: unknown }).code === "EAGAIN") break; // still full: the next turn
          backlog.shift();
          waiting.reject(error);
          continue;
        }
        backlog.shift();
        waiting.resolve();
      }
      if (backlog.length === 0) this.#backlogs.delete(identity);
    }
  }

  // Frames waiting for `identity` (none: every client's), failed with `error`.
  #dropBacklogs(identity: string | undefined, error: Error): void {
    for (const [held, backlog] of this.#backlogs) {
      if (identity !== undefined && held !== identity) continue;
      this.#backlogs.delete(held);
      for (const waiting of backlog.take()) waiting.reject(error);
    }
    for (const [held, calls] of this.#deferred) {
      if (identity !== undefined && held !== identity) continue;
      this.#deferred.delete(held);
      this.#lastBytes.delete(held);
      calls.take(); // nobody waits for their answers any more
    }
    if (this.#backlogs.size === 0 && this.#deferred.size === 0) this.#stopBacklogs();
  }

  // Backlogs and waiting calls are tried every BACKLOG_RETRY ms, in the send queue's turn, while there are any.
  #armBacklogs(): void {
    this.#backlogTimer ??= setInterval(() => this.#queue.send(FLUSH).catch(() => undefined), BACKLOG_RETRY).unref();
  }

  #stopBacklogs(): void {
    clearInterval(this.#backlogTimer);
    this.#backlogTimer = undefined;
  }

  #checkPeers(): void {
    const now = Date.now();
    const cutoff = now - this.#heartbeatTimeout;
    for (const [identity, lastSeen] of this.#peers) {
      if (lastSeen >= cutoff) continue;
      this.#peers.delete(identity);
      this.#nonces.delete(identity);
      const session = this.#sessions.get(identity);
      this.stats.lost++;
      const lost = new RpcPeerLostError(session?.userId ?? identity, now - lastSeen);
      if (session !== undefined) this.#endSession(identity, session, lost);
      this.#calls.fail(identity, lost);
      this.#calls.abortRunning(identity, lost); // nobody waits for their answers any more
      this.#dropBacklogs(identity, lost);
      this.#tell("disconnect", identity);
    }
    // A login whose connection ended and no login of the same user came within the heartbeat timeout.
    for (const [identity, session] of this.#sessions) {
      if (session.awaySince === undefined || session.awaySince >= cutoff) continue;
      this.stats.lost++;
      this.#endSession(identity, session, away(session));
    }
  }

  #refused(decision: ZapDecision): void {
    this.stats.refused++;
    this.#tell("refused", decision);
    const who = decision.publicKey || decision.username || decision.address || "a client";
    this.#reportPeerError(
      new RpcAuthError(`RPC server port ${this.#port}`, `${decision.mechanism} ${who}: ${decision.reason ?? "refused"}`),
    );
  }

  // Errors peers cause (a bad frame, a refusal) are emitted at most REPORTS_PER_SECOND times a second: a
  // peer sending junk must not become as many events, or, with no listener, process warnings on stderr.
  #reportPeerError(error: BerryError): void {
    if (!this.#reportRate.allow()) {
      this.stats.unreported++;
      return;
    }
    this.#report(error);
  }

  #report(error: BerryError): void {
    emitError(this, error, (unheard) => process.emitWarning(unheard));
  }

  // An event told listener by listener: one that throws is reported (RpcListenerError), not thrown into the
  // receive loop (the server deaf for good), a heartbeat timer or an authentication (the process crashed).
  #tell<E extends Exclude<keyof RpcServerEvents, "error">>(event: E, ...args: RpcServerEvents[E]): void {
    emitArgs(this, event, args, (thrown) => {
      if (this.#closingThrows !== undefined) this.#closingThrows.push(thrown);
      else this.#report(new RpcListenerError("RPC server", event, thrown));
    });
  }
}

// The bytes of a message's frames (a string's in UTF-8).
function frameBytes(frames: readonly (string | Buffer)[]): number {
  let bytes = 0;
  for (const frame of frames) bytes += typeof frame === "string" ? Buffer.byteLength(frame) : frame.length;
  return bytes;
}
