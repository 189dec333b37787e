import { BerryError, InvalidArgumentError } from "../../lib/errors.js";
import { RpcBusyError, RpcCancelledError, RpcMethodNotFoundError, RpcPeerLostError, RpcRemoteError, RpcTimeoutError } from "./errors.js";
import { checkTimerDelay, MAX_TIMER_DELAY } from "../../lib/long-timer.js";
import { positiveInteger } from "./check-options.js";
import type { RpcCodec, RpcCodecName } from "./rpc-codec.js";

/**
 * What a procedure gets as `this` (a `function`, not an arrow function, to see it): `signal` aborts when
 * the call's run time is up (`runTimeout`, or the caller's own timeout, whichever is shorter), after which
 * the caller has its answer (RpcTimeoutError) and whatever the procedure returns is dropped.
 */
export interface RpcCallContext {
  readonly signal: AbortSignal;
}

/** A procedure the far side may call; its (awaited) result must be data the codec carries. */
export type Procedure = (this: RpcCallContext, ...args: unknown[]) => unknown;

/** Options shared by the RPC server and client. */
export interface RpcOptions {
  /** How long a call waits for its answer, in ms (default 5,000). */
  callTimeout?: number;
  /** Interval of heartbeats, in ms (default 500). */
  heartbeatInterval?: number;
  /** A peer silent this long is lost and its pending calls fail (default 3 × heartbeatInterval; at least twice heartbeatInterval). */
  heartbeatTimeout?: number;
  /** Wire encoding, the same on both ends: `"json"` (default) or `"msgpack"` (native types; needs `msgpackr`). */
  codec?: RpcCodecName;
  /** Largest RPC frame decoded, in bytes (default 1,048,576); a bigger one is refused unread. */
  maxMessageBytes?: number;
  /** Calls from one peer this end runs at once (default 1,000); one more is refused at once with `RpcBusyError`. */
  maxRunningCalls?: number;
  /** Calls from all peers this end runs at once (default 10,000); one more is refused at once with `RpcBusyError`. */
  maxRunningCallsTotal?: number;
  /** Calls this end waits answers for at once (default 10,000); one more fails at once with `RpcBusyError`. */
  maxPendingCalls?: number;
  /**
   * Longest a call from the far side runs here, in ms (default 60,000; at most 2³¹−1): past it, or past the
   * caller's own `callTimeout` (sent with the request) if shorter, the call is answered with RpcTimeoutError,
   * its slot (`maxRunningCalls`) is freed and the procedure's `this.signal` aborts.
   */
  runTimeout?: number;
}

/** The bounds on calls of one RPC end (see {@link RpcOptions}). */
export interface CallBounds {
  maxRunning: number;
  maxRunningTotal: number;
  maxPending: number;
  runTimeout: number;
}

/** The bounds `options` ask for, checked, with their defaults. @throws InvalidArgumentError naming a bad one. */
export function callBounds(options: RpcOptions): CallBounds {
  return {
    maxRunning: positiveInteger("maxRunningCalls", options.maxRunningCalls ?? 1_000),
    maxRunningTotal: positiveInteger("maxRunningCallsTotal", options.maxRunningCallsTotal ?? 10_000),
    maxPending: positiveInteger("maxPendingCalls", options.maxPendingCalls ?? 10_000),
    runTimeout: checkTimerDelay("runTimeout", options.runTimeout ?? 60_000),
  };
}

/**
 * The heartbeat interval and timeout `options` ask for, checked, with their defaults (500 ms, 3 × interval,
 * at most 2³¹−1). A timeout given must be at least twice the interval: a peer heartbeats once an interval, a
 * few ms late (timers, the event loop, the wire), so a timeout not longer found a live peer lost between two
 * heartbeats (its calls failed with RpcPeerLostError, its login ended), and so did one just longer (101 ms
 * for 100: "no heartbeat for 102 ms", review of r30). Twice leaves one interval of room for a late one. The
 * default is not checked: an interval past 2³¹−1 / 3 (8 days) is a timer option's largest value taken as such.
 * @throws InvalidArgumentError naming a bad one.
 */
export function heartbeatTimes(options: RpcOptions): { interval: number; timeout: number } {
  const interval = checkTimerDelay("heartbeatInterval", options.heartbeatInterval ?? 500);
  if (options.heartbeatTimeout === undefined) return { interval, timeout: Math.min(interval * 3, MAX_TIMER_DELAY) };
  const timeout = checkTimerDelay("heartbeatTimeout", options.heartbeatTimeout);
  if (timeout < interval * 2) {
    throw new InvalidArgumentError("heartbeatTimeout", timeout, `at least twice heartbeatInterval (${interval}): a peer heartbeats once an interval, some ms late`);
  }
  return { interval, timeout };
}

/** JSON-RPC 2.0 error codes used on the wire. */
export const RpcErrorCode = Object.freeze({
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  /** The procedure threw; `data` carries the remote error's `name` and `message`. */
  procedureFailed: -32000,
  /** A proxied call timed out further on; `data.timeout` is that timeout. */
  timeout: -32001,
  /** A proxied call's peer was lost further on; `data.peer` names it. */
  peerLost: -32002,
  /** A proxy refused a call that came back to it through other proxies, or passed too many of them. */
  proxyLoop: -32003,
  /** Refused at once: too many calls in progress (`data.limit`); the caller gets RpcBusyError. */
  busy: -32004,
});

/** Most proxies a call may pass through (each one adds its id to the request's `via`). */
export const MAX_PROXY_HOPS = 8;

// Longest proxy id accepted in a request's `via` (ours are 16 hex digits).
const MAX_PROXY_ID_LENGTH = 64;

/** Frame kinds of the RPC protocol. */
export const RpcKind = Object.freeze({
  /** A JSON-RPC 2.0 request or answer, encoded by the codec. */
  rpc: "rpc",
  heartbeat: "hb",
  /** client → server: PLAIN credentials binding this connection to a user id. */
  login: "login",
  /** server → client: the login was accepted (frame 2: the user id) or refused (frame 2: why). */
  loginOk: "login-ok",
  loginRefused: "login-no",
  /** server → client: log in first (this identity is not bound to a user). */
  loginAsk: "login?",
  /**
   * server → client, answering a heartbeat: at maxClients, this identity is not served now; the server
   * serves this same connection once a slot frees (the client must not make it again, see RpcClient).
   */
  full: "full",
});

interface RunningCall {
  peer: string;
  id: number | string | null;
  procedure: string;
  stop(error: BerryError): void;
}

interface Pending {
  peer: string;
  procedure: string;
  resolve(value: unknown): void;
  reject(error: BerryError): void;
  timer: NodeJS.Timeout;
}

/**
 * Where a procedure this side does not have goes (the RPC proxy): another server's client. `via` lists the
 * proxies the call passed through, this one last, for the request it sends on.
 */
export type Fallback = (procedure: string, args: unknown[], via: readonly string[], caller: CallerBounds) => Promise<unknown>;

/**
 * What a delegated call passes on from its caller: how long the caller still waits (`timeout`, ms) and a
 * signal that aborts when this side stops running the call (caller lost or timed out, this end closing).
 */
export interface CallerBounds {
  timeout: number;
  signal: AbortSignal;
}

/**
 * The notification that stops a call the caller no longer waits for (JSON-RPC reserves `rpc.` names):
 * `{"jsonrpc":"2.0","method":"rpc.cancel","params":[id]}`. A server before r24 answers it "method not
 * found" with id null, which no caller waits for.
 */
export const CANCEL_METHOD = "rpc.cancel";

type Send = (frame: Buffer | string) => Promise<void>;

/** Sends a call's request; `wanted` says, when its turn to go comes, whether the call still waits for it. */
export type SendCall = (frame: Buffer | string, wanted: () => boolean) => Promise<void>;

interface WireError {
  code?: unknown;
  message?: unknown;
  data?: { name?: unknown; message?: unknown; timeout?: unknown; peer?: unknown; silentMs?: unknown; limit?: unknown; bound?: unknown };
}

/**
 * The JSON-RPC 2.0 half that both ends of the bidirectional RPC share: the registered procedures, the
 * calls waiting for an answer (with their timeouts), and the handling of incoming requests and answers.
 */
export class RpcCalls {
  readonly #procedures = new Map<string, Procedure>();
  readonly #pending = new Map<number, Pending>();
  readonly #codec: RpcCodec;
  readonly #bounds: CallBounds;
  // Calls being run, per peer and in all: each holds what its procedure holds until it settles.
  readonly #running = new Map<string, number>();
  #runningTotal = 0;
  // The calls being run, each with how to stop it (runTimeout, close, its peer lost).
  // The calls running here, by peer and then by call id: an `rpc.cancel` finds its call without a scan
  // (a scan of every running call made each cancel cost up to ~200 µs: a flood of them took a core).
  readonly #runs = new Map<string, Map<number | string | null, Set<RunningCall>>>();
  #fallback: Fallback | undefined;
  // This side's proxy id, in the `via` of the calls it delegates (a call that comes back with it loops).
  #proxyId = "";
  #nextId = 0;

  constructor(codec: RpcCodec, bounds: CallBounds) {
    this.#codec = codec;
    this.#bounds = bounds;
  }

  /** Registers `fn` under `name` (replacing an earlier one). */
  register(name: string, fn: Procedure): void {
    if (typeof name !== "string" || name.length === 0) throw new InvalidArgumentError("name", name, "a non-empty procedure name");
    if (typeof fn !== "function") throw new InvalidArgumentError("fn", fn, "a function");
    this.#procedures.set(name, fn);
  }

  /** Sends calls to procedures not registered here to `fallback` (the proxy), which this side joins as `proxyId`. */
  delegate(fallback: Fallback | undefined, proxyId: string): void {
    this.#fallback = fallback;
    this.#proxyId = proxyId;
  }

  /** Calls waiting for an answer. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request with `send` and resolves with the answer.
   * @throws RpcRemoteError, RpcMethodNotFoundError, RpcTimeoutError, RpcPeerLostError (from a proxy), or
   * what `fail` was given.
   */
  call(peer: string, procedure: string, args: unknown[], timeout: number, send: SendCall, via?: readonly string[], signal?: AbortSignal): Promise<unknown> {
    if (typeof procedure !== "string" || procedure.length === 0) {
      return Promise.reject(new InvalidArgumentError("procedure", procedure, "a non-empty procedure name"));
    }
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    if (this.#pending.size >= this.#bounds.maxPending) {
      return Promise.reject(new RpcBusyError(procedure, this.#bounds.maxPending, "maxPendingCalls"));
    }
    const id = ++this.#nextId;
    let frame: Buffer | string;
    try {
      // `timeout`: the far side stops running the call when this side gives up waiting for it.
      // `maxAnswerBytes`: this side refuses a bigger answer unread; the far side answers RpcAnswerTooBig instead.
      const request = { jsonrpc: "2.0", id, method: procedure, params: args, timeout, maxAnswerBytes: this.#codec.maxBytes };
      frame = this.#codec.encode(via === undefined ? request : { ...request, via });
    } catch (error) {
      return Promise.reject(new InvalidArgumentError("args", args, `data the ${this.#codec.name} codec carries (${String(error)})`));
    }
    // The far side refuses a frame over maxMessageBytes unanswered (or, far over, cuts the connection): say so now.
    const bytes = Buffer.byteLength(frame);
    if (bytes > this.#codec.maxBytes) {
      const expected = `at most maxMessageBytes (${this.#codec.maxBytes}) once encoded`;
      return Promise.reject(new InvalidArgumentError(`args of "${procedure}"`, `(${bytes} bytes encoded)`, expected));
    }
    let sent = false;
    const settled = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RpcTimeoutError(procedure, timeout));
      }, timeout);
      this.#pending.set(id, { peer, procedure, resolve, reject, timer });
      // A send refused with a reason of ours (the login ended, or what is held for it while away is full)
      // fails the call now; any other failed send leaves it to its timeout, or to the heartbeat that
      // notices the peer is gone.
      send(frame, () => this.#pending.has(id)).then(
        () => {
          sent = true;
        },
        (error: unknown) => {
          const pending = this.#pending.get(id);
          if (!(error instanceof BerryError) || pending === undefined) return;
          this.#pending.delete(id);
          clearTimeout(pending.timer);
          pending.reject(error);
        },
      );
    });
    if (signal === undefined) return settled;
    // Aborted (a proxy's caller gone or timed out): the call ends here, and the far side is told to stop it.
    const abort = (): void => {
      const pending = this.#pending.get(id);
      if (pending === undefined) return;
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(signal.reason);
      if (!sent) return; // still queued: the queue drops it (no longer wanted), nothing to cancel
      let cancel: Buffer | string;
      try {
        cancel = this.#codec.encode({ jsonrpc: "2.0", method: CANCEL_METHOD, params: [id] });
      } catch {
        return; // an integer array: every codec carries it
      }
      send(cancel, () => true).catch(() => undefined);
    };
    signal.addEventListener("abort", abort, { once: true });
    return settled.finally(() => signal.removeEventListener("abort", abort));
  }

  /** Fails every pending call to `peer` (or to every peer when `peer` is undefined) with `error`. */
  fail(peer: string | undefined, error: BerryError): number {
    let failed = 0;
    for (const [id, pending] of this.#pending) {
      if (peer !== undefined && pending.peer !== peer) continue;
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(error);
      failed++;
    }
    return failed;
  }

  /**
   * Handles one RPC frame from `peer`: runs a request and hands the answer to `reply`, or settles the
   * call an answer belongs to.
   * @throws ZmqProtocolError when the frame was refused (too big, undecodable, forbidden keys, too deep),
   * after answering a parse error.
   */
  /** Calls of `peer` running here (their answers to come). */
  runningFor(peer: string): number {
    return this.#running.get(peer) ?? 0;
  }

  async handle(peer: string, frame: Buffer, reply: Send): Promise<void> {
    let message: Record<string, unknown>;
    try {
      const decoded = this.#codec.decode(frame);
      if (typeof decoded !== "object" || decoded === null || Array.isArray(decoded) || decoded instanceof Map) {
        throw new InvalidArgumentError("message", decoded, "an object");
      }
      message = decoded as Record<string, unknown>;
    } catch (error) {
      await reply(this.#errorAnswer(null, RpcErrorCode.parseError, `parse error: ${(error as Error).message}`));
      throw error;
    }
    if (message.method === CANCEL_METHOD && message.id === undefined) {
      this.#cancel(peer, message.params);
      return;
    }
    if (typeof message.method === "string") {
      const running = this.#running.get(peer) ?? 0;
      // Refused at once past a bound: each call run holds what its procedure holds until it settles.
      const busy =
        running >= this.#bounds.maxRunning
          ? new RpcBusyError(message.method, this.#bounds.maxRunning, "maxRunningCalls")
          : this.#runningTotal >= this.#bounds.maxRunningTotal
            ? new RpcBusyError(message.method, this.#bounds.maxRunningTotal, "maxRunningCallsTotal")
            : undefined;
      if (busy !== undefined) {
        await reply(this.#encodeError(typeof message.id === "number" || typeof message.id === "string" ? message.id : null, busy));
        return;
      }
      this.#running.set(peer, running + 1);
      this.#runningTotal++;
      const release = (): void => {
        this.#runningTotal--;
        const left = (this.#running.get(peer) ?? 1) - 1;
        if (left === 0) this.#running.delete(peer);
        else this.#running.set(peer, left);
      };
      const { answer, ran } = this.#runBounded(peer, message);
      // The slot is held until the procedure settles, not until its answer: freed at the timeout, a caller
      // sending timeout 1 had as many procedures running at once as it sent calls (50 against a bound of 2).
      void ran.then(release, release);
      await reply(await answer);
      return;
    }
    const pending = typeof message.id === "number" ? this.#pending.get(message.id) : undefined;
    if (pending === undefined || pending.peer !== peer) return; // an answer after its timeout
    this.#pending.delete(message.id as number);
    clearTimeout(pending.timer);
    const error = message.error as WireError | undefined | null;
    if (error === undefined || error === null) pending.resolve(message.result);
    else pending.reject(fromWire(pending.procedure, error));
  }

  // Runs a request for at most runTimeout, or the caller's timeout if it sent a shorter one: then the call
  // is answered with a timeout and the procedure's signal aborted (it may stop; its late result is
  // dropped, never sent as a second answer). `ran` settles when the procedure does.
  #runBounded(peer: string, request: Record<string, unknown>): { answer: Promise<Buffer | string>; ran: Promise<unknown> } {
    const id = typeof request.id === "number" || typeof request.id === "string" ? request.id : null;
    const asked = request.timeout;
    const limit =
      typeof asked === "number" && Number.isInteger(asked) && asked >= 1 && asked <= MAX_TIMER_DELAY
        ? Math.min(asked, this.#bounds.runTimeout)
        : this.#bounds.runTimeout;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let run: RunningCall | undefined;
    const stopped = new Promise<Buffer | string>((resolve) => {
      const stop = (error: BerryError): void => {
        clearTimeout(timer);
        controller.abort(error);
        resolve(this.#encodeError(id, error));
      };
      run = { peer, id, procedure: String(request.method), stop };
      timer = setTimeout(() => stop(new RpcTimeoutError(String(request.method), limit)), limit);
    });
    if (run !== undefined) this.#track(run);
    const ran = this.#run(request, controller.signal, limit);
    const answer = Promise.race([ran, stopped]).finally(() => {
      clearTimeout(timer);
      if (run !== undefined) this.#untrack(run);
    });
    return { answer, ran };
  }

  /**
   * Stops the calls from `peer` (every peer when undefined) being run here: their signals abort with
   * `error`, which is their answer (the peer is gone or this end is closing: it is sent if it still can be).
   */
  abortRunning(peer: string | undefined, error: BerryError): void {
    const byPeer = peer === undefined ? [...this.#runs.values()] : [this.#runs.get(peer)];
    for (const byId of byPeer) for (const runs of byId?.values() ?? []) for (const run of [...runs]) run.stop(error);
  }

  #track(run: RunningCall): void {
    let byId = this.#runs.get(run.peer);
    if (byId === undefined) {
      byId = new Map();
      this.#runs.set(run.peer, byId);
    }
    const runs = byId.get(run.id);
    if (runs === undefined) byId.set(run.id, new Set([run]));
    else runs.add(run);
  }

  #untrack(run: RunningCall): void {
    const byId = this.#runs.get(run.peer);
    const runs = byId?.get(run.id);
    if (byId === undefined || runs === undefined || !runs.delete(run) || runs.size > 0) return;
    byId.delete(run.id);
    if (byId.size === 0) this.#runs.delete(run.peer);
  }

  // A caller's `rpc.cancel`: stops the call of that id it is running here (an unknown or ended id is ignored).
  #cancel(peer: string, params: unknown): void {
    const id = Array.isArray(params) && params.length === 1 ? params[0] : undefined;
    if (typeof id !== "number" && typeof id !== "string") return;
    const runs = this.#runs.get(peer)?.get(id);
    for (const run of runs === undefined ? [] : [...runs]) run.stop(new RpcCancelledError(run.procedure, id));
  }

  async #run(request: Record<string, unknown>, signal: AbortSignal, limit: number): Promise<Buffer | string> {
    const id = typeof request.id === "number" || typeof request.id === "string" ? request.id : null;
    const name = request.method as string;
    if (!Array.isArray(request.params)) return this.#errorAnswer(id, RpcErrorCode.invalidParams, "params must be an array");
    const fn = this.#procedures.get(name);
    const fallback = this.#fallback;
    if (fn === undefined && fallback === undefined) return this.#errorAnswer(id, RpcErrorCode.methodNotFound, `method not found: ${name}`);
    let via: string[] = [];
    if (fn === undefined) {
      const passed = request.via ?? [];
      if (!Array.isArray(passed) || !passed.every((hop) => typeof hop === "string" && hop.length > 0 && hop.length <= MAX_PROXY_ID_LENGTH)) {
        return this.#errorAnswer(id, RpcErrorCode.invalidRequest, "via must be an array of proxy ids");
      }
      if (passed.includes(this.#proxyId) || passed.length >= MAX_PROXY_HOPS) {
        const why = passed.includes(this.#proxyId) ? "it came back to this proxy" : `it passed ${passed.length} proxies (at most ${MAX_PROXY_HOPS})`;
        const message = `proxy loop: "${name}" refused, ${why}`;
        return this.#errorAnswer(id, RpcErrorCode.proxyLoop, message, { name: "RpcProxyLoop", message });
      }
      via = [...(passed as string[]), this.#proxyId];
    }
    const maxBytes = this.#answerBound(request.maxAnswerBytes);
    try {
      const result = fn === undefined ? await fallback?.(name, request.params, via, { timeout: limit, signal }) : await fn.apply({ signal }, request.params);
      const answer = this.#codec.encode({ jsonrpc: "2.0", id, result: result ?? null });
      const bytes = Buffer.byteLength(answer);
      if (bytes <= maxBytes) return answer;
      // The caller would refuse it unread (or lose the connection) and wait for its timeout: tell it why.
      const message = `the result of "${name}" is ${bytes} bytes encoded, over maxMessageBytes (${maxBytes}${maxBytes < this.#codec.maxBytes ? ", the caller's" : ""})`;
      return this.#errorAnswer(id, RpcErrorCode.procedureFailed, message, { name: "RpcAnswerTooBig", message });
    } catch (error) {
      return this.#encodeError(id, error, maxBytes);
    }
  }

  // The largest answer the caller reads: its own maxMessageBytes when it said so (r24) and it is smaller.
  #answerBound(asked: unknown): number {
    return typeof asked === "number" && Number.isSafeInteger(asked) && asked >= 1 ? Math.min(asked, this.#codec.maxBytes) : this.#codec.maxBytes;
  }

  // An error as it goes on the wire; errors of a proxied call keep their kind (see fromWire).
  #encodeError(id: number | string | null, error: unknown, maxBytes = this.#codec.maxBytes): Buffer | string {
    if (error instanceof RpcMethodNotFoundError) return this.#errorAnswer(id, RpcErrorCode.methodNotFound, error.message);
    if (error instanceof RpcRemoteError) {
      // A proxied error is as big as the server behind allowed: checked against this caller's bound too.
      const answer = this.#errorAnswer(id, error.rpcCode, error.remoteMessage, { name: error.remoteName, message: error.remoteMessage });
      const bytes = Buffer.byteLength(answer);
      if (bytes <= maxBytes) return answer;
      const message = `the error (${error.remoteName}) is ${bytes} bytes encoded, over maxMessageBytes (${maxBytes}${maxBytes < this.#codec.maxBytes ? ", the caller's" : ""})`;
      return this.#errorAnswer(id, RpcErrorCode.procedureFailed, message, { name: "RpcAnswerTooBig", message });
    }
    if (error instanceof RpcTimeoutError) {
      return this.#errorAnswer(id, RpcErrorCode.timeout, error.message, { name: error.name, message: error.message, timeout: error.timeout });
    }
    if (error instanceof RpcPeerLostError) {
      const data = { name: error.name, message: error.message, peer: error.peer, silentMs: error.silentMs };
      return this.#errorAnswer(id, RpcErrorCode.peerLost, error.message, data);
    }
    if (error instanceof RpcBusyError) {
      const data = { name: error.name, message: error.message, limit: error.limit, bound: error.bound };
      return this.#errorAnswer(id, RpcErrorCode.busy, error.message, data);
    }
    // Whatever was thrown (a null-prototype object, a throwing getter or toString, a huge message) is
    // answered: a call whose answer cannot be built used to get none, and its caller waited its timeout.
    let name = "Error";
    let text: string;
    try {
      name = error instanceof Error ? String(error.name) : "Error";
      text = error instanceof Error ? String(error.message) : String(error);
    } catch {
      text = "a thrown value that cannot be described";
    }
    if (name.length > 256) name = name.slice(0, 256);
    let answer: Buffer | string;
    try {
      answer = this.#errorAnswer(id, RpcErrorCode.procedureFailed, text, { name, message: text });
    } catch {
      return this.#errorAnswer(id, RpcErrorCode.procedureFailed, "a thrown value that cannot be encoded");
    }
    const bytes = Buffer.byteLength(answer);
    if (bytes <= maxBytes) return answer;
    const message = `the error thrown (${name}) is ${bytes} bytes encoded, over maxMessageBytes (${maxBytes}${maxBytes < this.#codec.maxBytes ? ", the caller's" : ""})`;
    return this.#errorAnswer(id, RpcErrorCode.procedureFailed, message, { name: "RpcAnswerTooBig", message });
  }

  #errorAnswer(id: number | string | null, code: number, message: string, data?: Record<string, unknown>): Buffer | string {
    return this.#codec.encode({ jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } });
  }
}

// The typed error for a wire error: a proxy passes timeouts and lost peers through as what they are.
function fromWire(procedure: string, error: WireError): BerryError {
  if (error.code === RpcErrorCode.methodNotFound) return new RpcMethodNotFoundError(procedure);
  if (error.code === RpcErrorCode.timeout && typeof error.data?.timeout === "number") return new RpcTimeoutError(procedure, error.data.timeout);
  if (error.code === RpcErrorCode.peerLost && typeof error.data?.peer === "string") {
    return new RpcPeerLostError(error.data.peer, typeof error.data.silentMs === "number" ? error.data.silentMs : 0);
  }
  if (error.code === RpcErrorCode.busy && typeof error.data?.limit === "number") {
    return new RpcBusyError(procedure, error.data.limit, String(error.data.bound ?? "busy"));
  }
  const code = typeof error.code === "number" ? error.code : RpcErrorCode.procedureFailed;
  return new RpcRemoteError(procedure, code, String(error.data?.name ?? "Error"), String(error.data?.message ?? error.message));
}
