import { randomBytes } from "node:crypto";
import { checkTimerDelay } from "../../lib/long-timer.js";
import { EventEmitter } from "eventemitter3";
import * as zmq from "zeromq";
import { type BerryError, emitError, InvalidArgumentError } from "../../lib/errors.js";
import { positiveInteger, portNumber } from "./check-options.js";
import { curveProof, curvePublicKey } from "./curve-proof.js";
import { emitArgs } from "../../lib/emit-each.js";
import { RpcAuthError, RpcClosedError, RpcListenerError, RpcPeerLostError, ZmqProtocolError } from "./errors.js";
import {
  type CallerBounds,
  type Fallback,
  type Procedure,
  callBounds,
  heartbeatTimes,
  RpcCalls,
  RpcKind,
  type RpcOptions,
} from "./rpc-calls.js";
import { DEFAULT_MAX_MESSAGE_BYTES, rpcCodec, transportFrameLimit } from "./rpc-codec.js";
import { ReportRate } from "./report-rate.js";
import { SendQueue } from "./send-queue.js";
import { isCurveKey } from "./z85.js";

// Longest wait before a connection that never served is made again (see #beat).
const MAX_REMAKE_WAIT = 10_000;

// How often a send waiting for a connection tries again, in ms, when no handshake wakes it first.
const SEND_RETRY_MS = 50;

// Requests and answers in the send queue at once; more wait to be let in (see #admitted).
const MAX_QUEUED = 1_000;
// Sends waiting to be let in before those of ended calls are first let go (see #admitted).
const SWEEP_MIN = 256;
// Answers waiting to be let in (for a login, or room in the send queue): past it the oldest is dropped.
const MAX_WAITING_ANSWERS = 1_000;
// A connection whose handshake the server refused is made again after this many ms, doubling with each
// refusal in a row up to MAX_REFUSED_RETRY (see #retryRefused).
const REFUSED_RETRY = 500;
const MAX_REFUSED_RETRY = 30_000;

/** CURVE settings of a client: the server's public key and this client's key pair. */
export interface ClientCurve {
  serverKey: string;
  publicKey: string;
  secretKey: string;
}

/** Options of {@link RpcClient}. */
export interface RpcClientOptions extends RpcOptions {
  /** Server host (default `127.0.0.1`). */
  host?: string;
  port: number;
  /** This client's identity, by which the server calls it (default: random). 1-255 bytes, not starting with a zero byte. */
  identity?: string;
  /** Encrypt and authenticate with CURVE. */
  curve?: ClientCurve;
  /** Authenticate with ZAP PLAIN (the server has `plain: true`); the server then calls this client by its user id. Not encrypted. */
  plain?: { username: string; password: string };
}

/** Events of an RPC client. */
export interface RpcClientEvents {
  /** The server answered (first time, or again after it was lost). */
  connect: [];
  /** The server stopped answering heartbeats; pending calls failed. */
  disconnect: [];
  /** The server refused this client's keys or credentials (RpcAuthError), or a protocol error. */
  error: [error: BerryError];
  /** The server accepted this client's PLAIN login as `userId`. */
  login: [userId: string];
}

/**
 * The client end of the bidirectional RPC (pseud's Client): calls the server's procedures and registers
 * its own, which the server calls by this client's identity.
 * @example
 * const client = RpcClient.connect({ port: 5555, identity: "worker-1" });
 * client.register("status", () => "idle");
 * console.log(await client.call("hello", "Charly")); // "Hello Charly"
 * client.close();
 */
export class RpcClient extends EventEmitter<RpcClientEvents> {
  readonly identity: string;
  /**
   * `undelivered`: answers to the server's calls dropped unsent, the oldest past 1,000 waiting to be sent (for
   * a login the server does not decide, or a server that does not read): its calls time out there.
   * `unreported`: errors the server caused (refusals, frames refused) and not emitted, past 10 a second.
   */
  readonly stats = { undelivered: 0, unreported: 0 };
  readonly #calls: RpcCalls;
  readonly #dealer: zmq.Dealer;
  readonly #queue: SendQueue;
  // Requests queued to send, each with whether its call still waits for an answer.
  readonly #wanted = new WeakMap<(string | Buffer)[], () => boolean>();
  // Sends waiting for a connection, woken by the next handshake.
  readonly #senders: (() => void)[] = [];
  readonly #endpoint: string;
  readonly #callTimeout: number;
  readonly #heartbeatTimeout: number;
  // How long a connection that succeeded its handshake may bring nothing before it is made again (see #beat).
  readonly #remakeAfter: number;
  readonly #timer: NodeJS.Timeout;
  #lastSeen = Date.now();
  // When the handshake of the current connection succeeded, while nothing came on it since (see #beat):
  // undefined once the server sent anything on it, and while no connection is up.
  #handshakeAt: number | undefined;
  // Connections made again in a row that brought nothing (see #beat): each waits twice as long.
  #remakes = 0;
  // When the server last said it is at maxClients (`full`), while it serves us nothing: calls then fail
  // saying so, not as if the server were gone.
  #fullAt: number | undefined;
  #connected = false;
  #beating = false;
  #refused: RpcAuthError | undefined;
  // A handshake with the server succeeded once (its key is right).
  #handshaken = false;
  #closed = false;
  readonly #plain: { username: string; password: string } | undefined;
  readonly #curve: ClientCurve | undefined;
  // With PLAIN or CURVE: calls go out once the server accepted the login on this connection.
  #awaitingLogin = false;
  // Requests and answers in the send queue, and those waiting to be let in (in order), each with whether its
  // call still waits for an answer (none: an answer, always sent). See #admitted.
  #queued = 0;
  #waitingAnswers = 0;
  readonly #admitting = new Set<{ admit: (admitted: boolean) => void; wanted: (() => boolean) | undefined }>();
  // The number waiting at which the sends of calls that ended meanwhile are let go.
  #sweepAt = SWEEP_MIN;
  #userId: string | undefined;
  // Refused handshakes in a row, and the timer making the connection again after the last (see #retryRefused).
  #refusals = 0;
  #refusedRetry: NodeJS.Timeout | undefined;
  readonly #reportRate = new ReportRate();
  // The login frame waiting in the send queue, if any (see #login).
  #loginFrames: string[] | undefined;

  private constructor(options: RpcClientOptions) {
    super();
    portNumber("port", options.port);
    this.identity = options.identity ?? `client-${randomBytes(6).toString("hex")}`;
    if (typeof this.identity !== "string" || this.identity.length === 0 || Buffer.byteLength(this.identity) > 255) {
      throw new InvalidArgumentError("identity", this.identity, "a string of 1-255 bytes");
    }
    this.#callTimeout = checkTimerDelay("callTimeout", options.callTimeout ?? 5_000);
    const { interval, timeout } = heartbeatTimes(options);
    this.#heartbeatTimeout = timeout;
    this.#remakeAfter = this.#heartbeatTimeout + interval;
    const maxMessageBytes = positiveInteger("maxMessageBytes", options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    this.#calls = new RpcCalls(rpcCodec(options.codec ?? "json", maxMessageBytes), callBounds(options));
    const { curve, plain } = options;
    if (plain !== undefined) {
      if (curve !== undefined) throw new InvalidArgumentError("plain", "(credentials)", "not together with curve (one mechanism per socket)");
      if (typeof plain.username !== "string" || plain.username.length === 0 || Buffer.byteLength(plain.username) > 255) {
        throw new InvalidArgumentError("plain.username", plain.username, "a string of 1-255 bytes");
      }
      if (typeof plain.password !== "string" || Buffer.byteLength(plain.password) > 255) throw new InvalidArgumentError("plain.password", "(hidden)", "a string of at most 255 bytes");
      this.#plain = { username: plain.username, password: plain.password };
    }
    if (curve !== undefined) {
      if (!isCurveKey(curve.serverKey)) throw new InvalidArgumentError("curve.serverKey", curve.serverKey, "a Z85 CURVE key (40 characters)");
      if (!isCurveKey(curve.publicKey)) throw new InvalidArgumentError("curve.publicKey", curve.publicKey, "a Z85 CURVE key (40 characters)");
      if (!isCurveKey(curve.secretKey)) throw new InvalidArgumentError("curve.secretKey", "(hidden)", "a Z85 CURVE key (40 characters)");
      // Keys of two pairs (or swapped) failed the handshake, told as "wrong server key?".
      if (curvePublicKey(curve.secretKey) !== curve.publicKey)
        throw new InvalidArgumentError("curve.publicKey", curve.publicKey, "the public key of curve.secretKey (one pair of curveKeyPair())");
    }
    this.#curve = curve;
    if (curve !== undefined || plain !== undefined) this.#awaitLogin();
    this.#endpoint = `tcp://${options.host ?? "127.0.0.1"}:${options.port}`;
    this.#dealer = new zmq.Dealer({
      routingId: this.identity,
      linger: 0,
      // Nothing is queued towards a connection that is not up: a send fails at once (EAGAIN), and
      // #sendWhenConnected tries again once a handshake succeeded, for as long as the frame is wanted.
      immediate: true,
      sendTimeout: 0,
      // ZMTP heartbeats, answered by the server's libzmq (not its JavaScript: a busy server still answers):
      // a connection that brings nothing for heartbeatTimeout after a PING is closed and made again. Without
      // them a dead link that ends without a TCP close (a host powered off, a cable cut) kept a connection
      // that had served for as long as TCP took to give up (minutes).
      heartbeatInterval: interval,
      heartbeatTimeout: this.#heartbeatTimeout,
      maxMessageSize: transportFrameLimit(maxMessageBytes),
      ...(curve === undefined ? {} : { curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey }),
      ...(plain === undefined ? {} : { plainUsername: plain.username, plainPassword: plain.password }),
    });
    this.#dealer.events.on("handshake:error:auth", (event) => {
      this.#refuse(`${event.error.message} (status ${event.error.status})`);
      this.#retryRefused();
    });
    this.#dealer.events.on("handshake:error:protocol", (event) => {
      this.#refuse(event.error.message);
      this.#retryRefused();
    });
    // libzmq's CURVE server drops a HELLO it cannot decrypt without a word: this side only sees the
    // connection closed mid-handshake. With CURVE, that is a wrong server key (or the wrong server), until
    // a handshake succeeded: after that, it is a connection cut (a network blip, a proxy whose server is
    // away), and calls wait for the next one, within their timeouts, instead of failing with RpcAuthError.
    this.#dealer.events.on("handshake:error:other", (event) => {
      if (curve !== undefined && !this.#handshaken) {
        this.#refuse(`connection closed during the CURVE handshake (${event.error.message}): wrong server key?`);
      }
    });
    this.#dealer.events.on("handshake", () => {
      this.#handshaken = true;
      this.#handshakeAt = Date.now();
      this.#wakeSenders();
      this.#refused = undefined; // a handshake that succeeds clears an earlier refusal
      this.#refusals = 0;
      if (this.#curve === undefined && this.#plain === undefined) return;
      this.#awaitLogin();
      // Ask whether (and with which nonce) this server wants a login; calls wait for the answer.
      this.#queue.send([RpcKind.loginAsk]).catch(() => undefined);
    });
    this.#dealer.events.on("disconnect", () => {
      this.#handshakeAt = undefined; // the next connection's handshake is not decided yet
      if (this.#curve !== undefined || this.#plain !== undefined) this.#awaitLogin();
    });
    this.#queue = new SendQueue({ send: (frames) => this.#sendWhenConnected(frames) });
    try {
      this.#dealer.connect(this.#endpoint);
    } catch (error) {
      // Only ZeroMQ knows which hosts it takes (it refuses one with a space or a slash at once, "Invalid
      // argument"), as BrokerLink says. Left open, the socket kept the process from ever exiting.
      this.#dealer.close();
      const host = options.host ?? "127.0.0.1";
      throw new InvalidArgumentError("host", host, `a host ZeroMQ connects to (${error instanceof Error ? error.message : String(error)})`);
    }
    this.#timer = setInterval(() => this.#beat(), interval);
  }

  /** Connects to a server (the connection is made in the background; calls wait for it). */
  static connect(options: RpcClientOptions): RpcClient {
    const client = new RpcClient(options);
    void client.#serve();
    client.#beat();
    return client;
  }

  /** Whether the server answered within the heartbeat timeout. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Registers a procedure the server may call. */
  register(name: string, fn: Procedure): this {
    this.#calls.register(name, fn);
    return this;
  }

  /**
   * Calls the server's procedure `name`.
   * @throws RpcRemoteError (it threw; the remote name and message are kept), RpcMethodNotFoundError,
   * RpcTimeoutError, RpcPeerLostError (the server died during the call), RpcAuthError, RpcClosedError.
   */
  call(name: string, ...args: unknown[]): Promise<unknown> {
    return this.#call(name, args, undefined);
  }

  /** Calls waiting for an answer from the server. */
  get pending(): number {
    return this.#calls.pending;
  }

  #call(name: string, args: unknown[], via: readonly string[] | undefined, caller?: CallerBounds): Promise<unknown> {
    if (this.#closed) return Promise.reject(new RpcClosedError(`RPC client ${this.identity}`));
    if (this.#refused !== undefined) return Promise.reject(this.#refused);
    const send = (frame: Buffer | string, wanted: () => boolean): Promise<void> => this.#sendRpc(frame, wanted);
    // Delegated (a proxy): the caller's time left bounds this call too, and the caller's end stops it.
    const timeout = caller === undefined ? this.#callTimeout : Math.min(this.#callTimeout, caller.timeout);
    return this.#calls.call("server", name, args, timeout, send, via, caller?.signal);
  }

  /** How a server proxying to `client` delegates a call: it says which proxies the call passed through. */
  static forwarder(client: RpcClient): Fallback {
    return (name, args, via, caller) => client.#call(name, args, via, caller);
  }

  /** The user id the server accepted this client's login as (undefined before that, or when the server wants no login). */
  get userId(): string | undefined {
    return this.#userId;
  }

  /** Closes the socket (linger 0); pending calls fail with RpcClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#refusedRetry);
    this.#calls.fail(undefined, new RpcClosedError(`RPC client ${this.identity}`));
    this.#calls.abortRunning(undefined, new RpcClosedError(`RPC client ${this.identity}`));
    this.#dealer.close();
    this.#wakeSenders();
    this.#admit();
  }

  // Sends `frames` once a connection takes them. While the server is away, a request whose call failed
  // meanwhile (timed out, server lost) is dropped instead: the server must never run a call its caller
  // was told had failed. Heartbeats, logins and answers wait for the connection (or close()).
  async #sendWhenConnected(frames: (string | Buffer)[]): Promise<void> {
    for (;;) {
      if (this.#closed || this.#wanted.get(frames)?.() === false) return;
      try {
        await this.#dealer.send(frames);
        return;
      } catch (error) {
        if ((error as { code?: unknown }).code !== "EAGAIN") throw error;
      }
      // Woken by the next handshake; polled too, as a connection's queue can also fill up (high-water mark).
      // A poll that fires takes its waker back out: the list holds only the sends waiting now.
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          const at = this.#senders.indexOf(wake);
          if (at !== -1) this.#senders.splice(at, 1);
          resolve();
        }, SEND_RETRY_MS);
        this.#senders.push(wake);
      });
    }
  }

  #wakeSenders(): void {
    for (const wake of this.#senders.splice(0)) wake();
  }

  async #serve(): Promise<void> {
    try {
      for await (const [kindFrame, body] of this.#dealer) {
        const kind = kindFrame?.toString();
        if (kind === RpcKind.full) {
          // The server is at maxClients and holds this connection: it serves it once a slot frees (at our
          // next heartbeat). Not made again (see #beat): a new one could come while the server's ROUTER
          // still held this one under our identity, and the ROUTER never serves such a connection.
          this.#handshakeAt = undefined;
          this.#remakes = 0;
          this.#fullAt = Date.now();
          continue;
        }
        this.#fullAt = undefined;
        this.#lastSeen = Date.now();
        this.#handshakeAt = undefined; // the connection serves: it is not one the server parked
        this.#remakes = 0;
        if (!this.#connected) {
          this.#connected = true;
          this.#tell("connect");
        }
        if (kind === RpcKind.rpc && body !== undefined) {
          // Answers wait for the login too: sent on a new connection before it, they were held by the server
          // and dropped if that connection ended before its login was decided (a second blip).
          this.#calls.handle("server", body, (frame) => this.#sendRpc(frame, undefined)).catch((error: unknown) => {
            if (error instanceof ZmqProtocolError) this.#reportPeerError(error);
          });
        } else if (kind === RpcKind.loginOk) {
          const userId = body?.toString() ?? "";
          this.#userId = userId === "" ? undefined : userId;
          this.#awaitingLogin = false;
          // A login accepted ends an earlier refusal, as a handshake that succeeds does: a login refused for
          // a moment (a hook that threw or timed out once) left every call failing for good, once logged in.
          this.#refused = undefined;
          this.#admit();
          if (this.#userId !== undefined) this.#tell("login", this.#userId);
        } else if (kind === RpcKind.loginRefused) {
          this.#refuse(`login refused: ${body?.toString() ?? ""}`);
        } else if (kind === RpcKind.loginAsk) {
          // The server wants a login (a new connection, or it restarted): calls wait meanwhile.
          this.#awaitLogin();
          this.#login(body?.toString() ?? "");
        }
      }
    } catch (error) {
      if (!this.#closed) this.#report(new ZmqProtocolError("RPC receive loop failed:", String(error)));
    }
  }

  #beat(): void {
    if (this.#closed) return;
    // One heartbeat in flight at most: while the server is away, sends wait and would pile up.
    if (!this.#beating) {
      this.#beating = true;
      this.#queue
        .send([RpcKind.heartbeat])
        .catch(() => undefined)
        .finally(() => {
          this.#beating = false;
        });
    }
    const now = Date.now();
    const silent = now - this.#lastSeen;
    if (silent <= this.#heartbeatTimeout) return;
    // A connection whose handshake succeeded and that brought nothing since, for a heartbeat timeout and an
    // interval, is made again. The server's ROUTER refuses a connection under an identity it still holds
    // on another one (a connection whose client side is gone, its server side still open) and never serves
    // it, even once that other one closes: only a new connection is. The server's ZMTP heartbeats close that
    // other one within an interval and a timeout of its last traffic (same settings both ends): waiting as
    // long here makes the first new connection come after it, not race it. A connection that served before
    // is never made again for a silence (a server busy for seconds: made again, every client would log in
    // again at once), nor is a handshake still being decided (a slow authenticate). Each new connection in a
    // row that brings nothing (a server at maxClients drops its frames) waits twice as long, up to 10 s (a
    // client waiting for a free slot is served at most that long after one frees).
    const wait = Math.min(this.#remakeAfter * 2 ** this.#remakes, Math.max(this.#remakeAfter, MAX_REMAKE_WAIT));
    if (this.#handshakeAt !== undefined && now - this.#handshakeAt > wait) {
      this.#handshakeAt = undefined;
      this.#remakes++;
      this.#dealer.disconnect(this.#endpoint);
      this.#dealer.connect(this.#endpoint);
    }
    const full = this.#fullAt !== undefined && now - this.#fullAt <= this.#heartbeatTimeout;
    const lost = new RpcPeerLostError(this.#endpoint, silent, full);
    this.#calls.fail(undefined, lost);
    this.#calls.abortRunning(undefined, lost); // the server's calls being run here: nobody waits for them
    if (this.#connected) {
      this.#connected = false;
      this.#tell("disconnect");
    }
  }

  // Holds calls until the next login-ok.
  #awaitLogin(): void {
    this.#awaitingLogin = true;
  }

  // A request (`wanted`: whether its call still waits) or an answer, sent once let in (see #admitted).
  async #sendRpc(frame: Buffer | string, wanted: (() => boolean) | undefined): Promise<void> {
    if (!(await this.#admitted(wanted))) return; // its call ended while it waited: not sent
    const frames = [RpcKind.rpc, frame];
    if (wanted !== undefined) this.#wanted.set(frames, wanted);
    try {
      await this.#queue.send(frames);
    } finally {
      this.#queued--;
      this.#admit();
    }
  }

  // Resolves true once a send may go to the queue: logged in (when a login is awaited), and fewer than
  // MAX_QUEUED there (the queue holds what it cannot send, behind a frame waiting for a connection); false
  // for a call that ended while it waited. Before r31 every call waited in one promise for the login, or
  // in the queue for the server, and one that timed out stayed there until then, with its request: a
  // server away for an hour (or one that asks for a login and never decides) grew the client by 360,000
  // requests at 100 calls a second. Now what waits is swept of the ended calls.
  #admitted(wanted: (() => boolean) | undefined): Promise<boolean> {
    if (this.#admitting.size === 0 && !this.#awaitingLogin && this.#queued < MAX_QUEUED) {
      this.#queued++;
      return Promise.resolve(true);
    }
    if (this.#admitting.size >= this.#sweepAt) {
      for (const waiting of this.#admitting) {
        if (waiting.wanted?.() !== false) continue;
        this.#admitting.delete(waiting);
        waiting.admit(false);
      }
      // Amortised: the next sweep once as many more wait as are left.
      this.#sweepAt = Math.max(SWEEP_MIN, 2 * this.#admitting.size);
    }
    if (wanted === undefined && ++this.#waitingAnswers > MAX_WAITING_ANSWERS) this.#dropOldestAnswer();
    return new Promise((admit) => void this.#admitting.add({ admit, wanted }));
  }

  // Answers are no call of ours that could end: a server that sends calls and never decides the login (or
  // never reads) would have them wait without end.
  #dropOldestAnswer(): void {
    for (const waiting of this.#admitting) {
      if (waiting.wanted !== undefined) continue;
      this.#admitting.delete(waiting);
      this.#waitingAnswers--;
      this.stats.undelivered++;
      waiting.admit(false);
      return;
    }
  }

  // Lets in what waits, in order, as far as #admitted allows (everything at close: the queue drops it).
  #admit(): void {
    for (const waiting of this.#admitting) {
      if (!this.#closed && (this.#awaitingLogin || this.#queued >= MAX_QUEUED)) return;
      this.#admitting.delete(waiting);
      if (waiting.wanted === undefined) this.#waitingAnswers--;
      this.#queued++;
      waiting.admit(true);
    }
    if (this.#admitting.size === 0) this.#sweepAt = SWEEP_MIN;
  }

  #login(nonce: string): void {
    if (this.#closed) return;
    let credentials: object;
    if (this.#plain !== undefined) credentials = this.#plain;
    else if (this.#curve !== undefined) {
      const { publicKey, secretKey, serverKey } = this.#curve;
      credentials = { publicKey, proof: curveProof({ publicKey, secretKey }, serverKey, nonce, this.identity) };
    } else return; // a server asking a client without credentials: its calls are answered with login? again
    const body = JSON.stringify(credentials);
    // One login frame waits to be sent at most, with the newest ask's nonce: a server that asks again and
    // again and never reads had one more pile up per ask (a flood of asks, a frame of each in memory). An
    // ask crossing the frame as it goes is asked again at the next heartbeat, which the server answers so.
    if (this.#loginFrames !== undefined) {
      this.#loginFrames[1] = body;
      return;
    }
    const frames = [RpcKind.login, body];
    this.#loginFrames = frames;
    this.#queue
      .send(frames)
      .catch(() => undefined)
      .finally(() => {
        if (this.#loginFrames === frames) this.#loginFrames = undefined;
      });
  }

  // libzmq makes no new connection after a handshake the server refused (the ZMTP ERROR ends that session
  // for good): a server refusing for a moment (at maxPendingAuthentications as many clients came back at
  // once, or an authenticate that timed out or threw) kept the client out until it was restarted (300
  // clients at once, 100 authentications at a time: 200 refused for good). The connection is made again
  // after REFUSED_RETRY ms, doubling with each refusal in a row up to 30 s; calls fail at once meanwhile
  // (RpcAuthError), and a handshake that succeeds ends it.
  #retryRefused(): void {
    if (this.#closed || this.#refusedRetry !== undefined) return;
    const wait = Math.min(REFUSED_RETRY * 2 ** Math.min(this.#refusals, 16), MAX_REFUSED_RETRY);
    this.#refusals++;
    this.#refusedRetry = setTimeout(() => {
      this.#refusedRetry = undefined;
      if (this.#closed) return;
      try {
        this.#dealer.disconnect(this.#endpoint);
      } catch {
        // libzmq may have forgotten the endpoint with its session: connected again below either way
      }
      this.#dealer.connect(this.#endpoint);
    }, wait);
  }

  #refuse(detail: string): void {
    if (this.#closed) return;
    this.#refused = new RpcAuthError(this.#endpoint, detail);
    this.#calls.fail(undefined, this.#refused);
    this.#reportPeerError(this.#refused);
  }

  // Errors the server causes (a refusal, a frame refused) are emitted at most REPORTS_PER_SECOND times a
  // second, as the server does for its clients': a hostile server flooding junk or login refusals made as
  // many `error` events (3,000 of each in a second), or with no listener as many process warnings.
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
  // receive loop (the client deaf for good) or the heartbeat timer (the process crashed).
  #tell<E extends Exclude<keyof RpcClientEvents, "error">>(event: E, ...args: RpcClientEvents[E]): void {
    emitArgs(this, event, args, (thrown) => this.#report(new RpcListenerError("RPC client", event, thrown)));
  }
}
