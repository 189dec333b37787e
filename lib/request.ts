import { describe, InvalidArgumentError } from "./errors.js";
import { checkDuration, type LongTimer, MAX_TIMER_DELAY, setLongTimeout } from "./long-timer.js";
import type { Message } from "./message.js";
import {
  AnswerOverflowError,
  RemoteError,
  RequestAbortedError,
  RequestLinkClosedError,
  RequestOverflowError,
  RequestTimeoutError,
} from "./request-errors.js";
import { REPLY_NAME } from "./reserved.js";

/** How a request waits for its answers. */
export interface RequestOptions {
  /**
   * How many answers to wait for: a number (default 1 for `request`/`ask`), or `"all"`: every answer
   * that comes within `timeout` (pymq's `multi=True`; the default for `talk`). Either way a request keeps
   * at most MAX_ANSWERS_PER_REQUEST (10,000) answers: "all" settles early once it has that many.
   */
  count?: number | "all";
  /** Ms to wait (default 5,000; `Infinity` = no limit). With a number `count`, missing answers reject. */
  timeout?: number;
  /** Cancels the request: it rejects with RequestAbortedError carrying the answers so far. */
  signal?: AbortSignal;
  /**
   * Send the request to one bus only, picked round-robin among the buses known to answer it (learned
   * from earlier answers; see the README). Default false: every matching follower everywhere gets it.
   */
  balanced?: boolean;
}

/** One answer to a request: a follower's value, or the error a follower failed with. */
export type Answer<R = unknown> =
  | { readonly ok: true; readonly value: R; readonly bus: string; readonly messageId: string }
  | { readonly ok: false; readonly error: RemoteError; readonly bus: string; readonly messageId: string };

/** Request options as checked: complete, `signal` possibly undefined. */
export type CheckedRequestOptions = Required<Omit<RequestOptions, "signal">> & { signal: AbortSignal | undefined };

/** Marks the last argument of `request`/`ask`/`talk` as options rather than an argument. */
export class Within {
  readonly options: RequestOptions;
  // The options as last checked, with the values they were checked from and the default count used: a
  // stub or a caller that keeps its `within(...)` asks with the same options each time, and checking them
  // again built an object per request. `options` stays mutable: any change is seen and checked afresh.
  #checked: CheckedRequestOptions | undefined;
  #defaultCount: number | "all" = 1;
  #count: number | "all" | undefined;
  #timeout: number | undefined;
  #signal: AbortSignal | undefined;
  #balanced: boolean | undefined;

  constructor(options: RequestOptions) {
    this.options = options;
  }

  /** The options checked (see `checkRequestOptions`), from the last check while they did not change. */
  checked(defaultCount: number | "all"): CheckedRequestOptions {
    const options = this.options;
    const checked = this.#checked;
    if (
      checked !== undefined &&
      this.#defaultCount === defaultCount &&
      this.#count === options.count &&
      this.#timeout === options.timeout &&
      this.#signal === options.signal &&
      this.#balanced === options.balanced
    ) {
      return checked;
    }
    const fresh = checkRequestOptions(options, defaultCount);
    this.#checked = fresh;
    this.#defaultCount = defaultCount;
    this.#count = options.count;
    this.#timeout = options.timeout;
    this.#signal = options.signal;
    this.#balanced = options.balanced;
    return fresh;
  }
}

/**
 * Request options, passed last (after any `kw()`): `bus.ask("calc:add", 1, 2, within({ timeout: 500 }))`.
 * @example const all = await bus.request("svc:ping", within({ count: "all", timeout: 200 }));
 */
export function within(options: RequestOptions): Within {
  // `within(null)` read `null.count` at the request (a TypeError); `within(5)` asked with the defaults.
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError("within() options", options, "an object");
  return new Within(options);
}

/**
 * Throws when a `within()` is among a request's arguments (not last, or twice): it was sent to the
 * followers as an argument and its options were not applied (a misplaced timeout waited 5 s).
 */
export function checkNoWithin(args: readonly unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const value = args[i];
    if (value instanceof Within) {
      throw new InvalidArgumentError(`within() at argument ${i + 1}`, value.options, "within() only as the last argument, after any kw()");
    }
  }
}

/** The options of a request given none (internal: not exported from the package). */
export const NO_OPTIONS = new Within({});

/** Default timeout of a request, in ms. */
export const DEFAULT_REQUEST_TIMEOUT = 5_000;
/** Most answers one request keeps: it settles with them (`count` may not ask for more). */
export const MAX_ANSWERS_PER_REQUEST = 10_000;
/** Default bound on the answers held at once by the requests waiting on one bus. */
export const DEFAULT_MAX_HELD_ANSWERS = 1_000_000;
/** Default bound on requests waiting for answers on one bus. */
export const DEFAULT_MAX_PENDING_REQUESTS = 100_000;
// Bounds of what balanced requests learn: identifiers remembered, buses per identifier, probes.
const MAX_BALANCED_IDENTIFIERS = 1_000;
const MAX_SERVERS = 64;
const MAX_PROBES = 1_000;
// Lists of distinct timeouts kept (with their timers armed) once no request waits in them.
const MAX_IDLE_TIMEOUTS = 16;
// Every this many balanced calls of an identifier, one goes to everybody again to find new answerers.
const REDISCOVER_EVERY = 100;

interface Pending {
  readonly messageId: string;
  readonly identifier: string;
  /** Identifier its answers come under (error answers to `talk` come under the `berrymq-reply:*` one). */
  readonly replyTo: string;
  readonly answers: Answer[];
  /** Answers that settle it: `count`, or MAX_ANSWERS_PER_REQUEST for `"all"`. */
  readonly wanted: number;
  /** `count: "all"`: the timeout resolves rather than rejects. */
  readonly all: boolean;
  readonly timeout: number;
  /** `ask`: resolves to the first answer's value (or rejects with its RemoteError), not the list. */
  readonly first: boolean;
  /** Set by the table's one Promise executor, right after the record is made. */
  resolve: (settled: unknown) => void;
  reject: (error: Error) => void;
  /** Beyond what setTimeout takes: a LongTimer of its own; else its place in its timeout's Deadlines. */
  long: LongTimer | undefined;
  /** When it was opened (performance.now() ms): links started later never carried it. */
  readonly opened: number;
  /** Links that refused to carry it (their buffer was full, or JSON cannot carry it); made at the first. */
  refusedBy: Set<object> | undefined;
  /** The one link an addressed request went out on (its route to `to`); undefined: every link took it. */
  via: { readonly closing: boolean } | undefined;
  /** When it expires (performance.now() ms), with the neighbours of its Deadlines list. */
  deadline: number;
  deadlines: Deadlines | undefined;
  prev: Pending | undefined;
  next: Pending | undefined;
  /** Its AbortSignal: the table listens to each signal once, however many requests share it. */
  readonly signal: AbortSignal | undefined;
  /** Bus a balanced request was addressed to: forgotten as an answerer when it does not answer. */
  readonly to: string | undefined;
}

/**
 * The waiting requests of one timeout, oldest first, and one timer for the oldest. Requests of the same
 * timeout expire in the order they were opened, so one timer does for all of them: a request that is
 * answered only leaves the list (no timer to clear, none to arm for the next; Node's own timers would
 * allocate one per request and, with one request at a time, rebuild their list for each).
 */
interface Deadlines {
  readonly timeout: number;
  head: Pending | undefined;
  tail: Pending | undefined;
  /** Armed for the head's deadline (or an older head's: it then re-arms); referenced while requests wait. */
  timer: NodeJS.Timeout | undefined;
}

interface Servers {
  buses: string[];
  next: number;
  calls: number;
}

/** Checks request options at the API boundary; returns them complete. */
export function checkRequestOptions(options: RequestOptions, defaultCount: number | "all"): CheckedRequestOptions {
  const count = options.count ?? defaultCount;
  if (count !== "all" && (!Number.isInteger(count) || count < 1 || count > MAX_ANSWERS_PER_REQUEST)) {
    throw new InvalidArgumentError("count", count, `an integer from 1 to ${MAX_ANSWERS_PER_REQUEST}, or "all"`);
  }
  const timeout = checkDuration("timeout", options.timeout ?? DEFAULT_REQUEST_TIMEOUT);
  if (count === "all" && timeout === Number.POSITIVE_INFINITY) {
    throw new InvalidArgumentError("timeout", timeout, 'a finite duration when count is "all"');
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgumentError("signal", signal, "an AbortSignal");
  const balanced = options.balanced ?? false;
  // `balanced: "yes"` asked everybody, as if left out.
  if (typeof balanced !== "boolean") throw new InvalidArgumentError("balanced", balanced, "a boolean");
  return { count, timeout, signal, balanced };
}

/**
 * The requests of one bus that wait for answers, keyed by the request's messageId, and what balanced
 * requests learned about who answers which identifier. Used by {@link Bus}.
 */
export class RequestTable {
  // The waiting requests by messageId: the first in a slot of its own while the Map is empty. One request
  // at a time then never reaches the Map: its set, get and delete hashed two fresh strings per request,
  // and a Map emptied by a delete shrinks, allocating a new table, every time.
  #only: Pending | undefined;
  readonly #pending = new Map<string, Pending>();
  readonly #deadlines = new Map<number, Deadlines>();
  readonly #servers = new Map<string, Servers>();
  readonly #probes = new Map<string, string>();
  // The waiting requests of each AbortSignal, in the order they were opened. One listener per signal, not
  // one per request: Node warns from the 11th listener on an EventTarget, and adds and removes each in
  // time linear in the listeners it holds (100,000 requests sharing a signal took 110 s to open).
  readonly #aborts = new Map<AbortSignal, Set<Pending>>();
  readonly #onAbort = (event: Event): void => this.#aborted(event.target as AbortSignal);
  readonly #limit: number;
  // Answers held by the waiting requests together, and its bound: 100,000 requests of up to 10,000
  // answers each could otherwise hold a billion.
  #held = 0;
  readonly #maxHeld: number;
  // Requests that stopped waiting, ever (see `finished`).
  #finished = 0;
  // One executor for every request's Promise: it hands the resolving functions to the request being opened
  // (a closure per request made a function and a context of nine variables each time).
  #opening: Pending | undefined;
  readonly #executor = (resolve: (settled: unknown) => void, reject: (error: Error) => void): void => {
    const pending = this.#opening as Pending;
    pending.resolve = resolve;
    pending.reject = reject;
  };

  /** `owner`: the bus whose table this is; its links find the table with {@link requestTableOf}. */
  constructor(limit: number, owner?: object, maxHeldAnswers = DEFAULT_MAX_HELD_ANSWERS) {
    this.#limit = limit;
    this.#maxHeld = maxHeldAnswers;
    if (owner !== undefined) tables.set(owner, this);
  }

  /** Requests waiting for answers. */
  get size(): number {
    return this.#pending.size + (this.#only === undefined ? 0 : 1);
  }

  /**
   * Whether the request `messageId` still waits for answers (false once it timed out, was aborted, got the
   * answers it waits for, or was never opened here): links do not send one that no longer does.
   */
  waits(messageId: string): boolean {
    return this.#find(messageId) !== undefined;
  }

  /**
   * How many requests stopped waiting so far (timed out, aborted, answered in full, rejected; not those every
   * link refused, which none holds): a link whose buffer overflows looks for requests that ended in it only
   * when this moved since it last looked.
   */
  get finished(): number {
    return this.#finished;
  }

  /** Throws RequestOverflowError when no further request may wait. */
  checkRoom(identifier: string): void {
    if (this.size >= this.#limit) throw new RequestOverflowError(identifier, this.#limit);
  }

  /** The bus a balanced request for `identifier` goes to, or `undefined` to ask everybody (and learn). */
  pick(identifier: string): string | undefined {
    const servers = this.#servers.get(identifier);
    if (servers === undefined || servers.buses.length === 0) return undefined;
    if (servers.calls++ % REDISCOVER_EVERY === REDISCOVER_EVERY - 1) return undefined;
    servers.next = (servers.next + 1) % servers.buses.length;
    return servers.buses[servers.next];
  }

  /**
   * The addressed request `messageId` (a balanced call) went out on `link` only, its route to the bus it
   * is addressed to: when that link closes, it can get no answer (the bus's other links never carried it).
   */
  routed(messageId: string, link: { readonly closing: boolean }): void {
    const pending = this.#find(messageId);
    if (pending !== undefined && pending.to !== undefined) pending.via = link;
  }

  /** Remembers that answers to this broadcast request teach who serves `identifier`. */
  probe(messageId: string, identifier: string): void {
    if (this.#probes.size >= MAX_PROBES) this.#probes.delete(this.#probes.keys().next().value as string);
    this.#probes.set(messageId, identifier);
  }

  /**
   * Waits for the answers to the request `messageId`; with `first` (what `ask` wants, `count` 1), resolves
   * to the one answer's value or rejects with its RemoteError, sparing a `then` per request.
   * @throws RequestAbortedError at once when `signal` is already aborted (the request must not be sent).
   */
  open(
    messageId: string,
    identifier: string,
    replyTo: string,
    options: { count: number | "all"; timeout: number; signal: AbortSignal | undefined },
    to: string | undefined,
    first = false,
  ): Promise<unknown> {
    const { count, timeout, signal } = options;
    // Thrown before the request is sent: the bus then neither delivers nor forwards it.
    if (signal?.aborted) throw new RequestAbortedError(identifier, [], signal.reason);
    const pending: Pending = {
      messageId,
      identifier,
      replyTo,
      answers: [],
      wanted: count === "all" ? MAX_ANSWERS_PER_REQUEST : count,
      all: count === "all",
      timeout,
      first: first && count === 1,
      resolve: unset,
      reject: unset,
      long: undefined,
      opened: performance.now(),
      refusedBy: undefined,
      via: undefined,
      deadline: 0,
      deadlines: undefined,
      prev: undefined,
      next: undefined,
      signal,
      to,
    };
    this.#opening = pending;
    const settled = new Promise<unknown>(this.#executor);
    this.#opening = undefined;
    if (this.#only === undefined && this.#pending.size === 0) this.#only = pending;
    else this.#pending.set(messageId, pending);
    if (timeout <= MAX_TIMER_DELAY) this.#enlist(pending);
    else if (timeout !== Number.POSITIVE_INFINITY) pending.long = setLongTimeout(() => this.#expire(messageId), timeout);
    if (signal !== undefined) {
      const sharing = this.#aborts.get(signal);
      if (sharing !== undefined) sharing.add(pending);
      else {
        this.#aborts.set(signal, new Set([pending]));
        signal.addEventListener("abort", this.#onAbort);
      }
    }
    return settled;
  }

  /** Takes an answer (a message with `inReplyTo`) addressed to this bus; ignores answers nobody waits for. */
  settle(message: Message): void {
    const requestId = message.inReplyTo as string;
    const bus = message.hops[0] ?? "";
    // Probes exist only while balanced requests learn: most answers skip the look-up.
    const learnt = this.#probes.size === 0 ? undefined : this.#probes.get(requestId);
    if (learnt !== undefined && !isErrorAnswer(message)) this.#learn(learnt, bus);
    const pending = this.#find(requestId);
    if (pending === undefined || !isAnswerTo(pending, message, bus)) return;
    // `ask`: its one answer settles it, as a value or an error; no Answer record to build and keep.
    if (pending.first) {
      this.#finish(requestId);
      if (!isErrorAnswer(message)) pending.resolve(message.args[0]);
      else pending.reject((toAnswer(message, pending.identifier, bus) as { error: RemoteError }).error);
      return;
    }
    if (this.#held >= this.#maxHeld) {
      this.#finish(requestId);
      pending.reject(new AnswerOverflowError(pending.identifier, this.#maxHeld, pending.answers));
      return;
    }
    const answer = toAnswer(message, pending.identifier, bus);
    pending.answers.push(answer);
    this.#held++;
    if (pending.answers.length < pending.wanted || this.#finish(requestId) === undefined) return;
    pending.resolve(pending.answers);
  }

  /**
   * A link of bus `busId` closed (named `link`): a request opened before every link still open started
   * (`oldestOpenLink`, Infinity when none is left), or refused by each open link that started before it
   * (`carried` says whether another one did), went out on closed links only, so it can get no further
   * answer unless a follower here may still give one (`followedHere`; never, for a balanced request
   * addressed to another bus: it was delivered nowhere here). Such a request ends now: `"all"` resolves
   * with its answers, a number of answers rejects with RequestLinkClosedError.
   */
  linkClosed(
    busId: string,
    link: string,
    oldestOpenLink: number,
    followedHere: (identifier: string) => boolean,
    carried: Carried = NO_CARRIER,
  ): void {
    const stranded: Pending[] = [];
    const only = this.#only;
    if (only !== undefined && isStranded(only, busId, oldestOpenLink, followedHere, carried)) stranded.push(only);
    for (const pending of this.#pending.values())
      if (isStranded(pending, busId, oldestOpenLink, followedHere, carried)) stranded.push(pending);
    for (const pending of stranded) {
      this.#finish(pending.messageId);
      // The bus a balanced call was addressed to is out of reach now, as after a timeout.
      this.#forgetSilent(pending);
      if (pending.all) pending.resolve(pending.answers);
      else pending.reject(new RequestLinkClosedError(pending.identifier, link, pending.answers));
    }
  }

  /**
   * A link of bus `busId` (named `link`, started at `startedAt`) lost its far side for good (`lost`, a
   * LinkLostError): a request opened since it started went out on it, and ends now unless another open
   * link started before it (`oldestOtherLink`: it carried it too), it is still in the link's buffer
   * (`unsent`: it goes to whatever far side the link reaches next), or a follower here may still answer
   * it (as for `linkClosed`); a balanced call routed by that link (`lostLink`) only (see `routed`) ends
   * whatever other link is open. `"all"` resolves with its answers; a number of answers rejects with
   * RequestLinkClosedError caused by `lost`. Returns when the earliest of those still unsent was opened
   * (Infinity when none is): the link carries them from then on.
   */
  linkLost(
    busId: string,
    link: string,
    startedAt: number,
    oldestOtherLink: number,
    unsent: (messageId: string) => boolean,
    followedHere: (identifier: string) => boolean,
    lost: Error,
    lostLink?: object,
  ): number {
    const stranded: Pending[] = [];
    let earliestUnsent = Number.POSITIVE_INFINITY;
    const candidates = this.#only === undefined ? [...this.#pending.values()] : [this.#only, ...this.#pending.values()];
    for (const pending of candidates) {
      if (unsent(pending.messageId)) earliestUnsent = Math.min(earliestUnsent, pending.opened);
      // A balanced call routed by that link only (see `routed`) went out on no other.
      else if (pending.via !== undefined && lostLink !== undefined) {
        if (pending.via === lostLink && pending.opened >= startedAt) stranded.push(pending);
      } else if (pending.opened >= startedAt && isStranded(pending, busId, oldestOtherLink, followedHere, undefined))
        stranded.push(pending);
    }
    for (const pending of stranded) {
      this.#finish(pending.messageId);
      this.#forgetSilent(pending);
      if (pending.all) pending.resolve(pending.answers);
      else pending.reject(new RequestLinkClosedError(pending.identifier, link, pending.answers, lost));
    }
    return earliestUnsent;
  }

  /**
   * The link `link` of bus `busId` refused to carry the request `messageId` (`error` says why). Once no
   * open link that could carry it is left (`carried`: whether an open link other than those that refused,
   * started before it, is), and no follower here may answer it (`followedHere`), it can get no answer: it
   * rejects with that error now rather than at its timeout. The refusal is remembered: when the links that
   * carried it close, it ends then (see `linkClosed`).
   */
  refused(
    messageId: string,
    busId: string,
    link: object,
    carried: Carried,
    followedHere: (identifier: string) => boolean,
    error: Error,
  ): void {
    const pending = this.#find(messageId);
    if (pending === undefined) return;
    pending.refusedBy ??= new Set();
    pending.refusedBy.add(link);
    if (isCarried(pending, pending.refusedBy, carried)) return;
    if ((pending.to === undefined || pending.to === busId) && followedHere(pending.identifier)) return;
    // Not counted in `finished`: no link holds it. Counted, each request of a burst past a full buffer made
    // that link look through its whole buffer again for ended ones before refusing the next: 40,000 asks past
    // a buffer of 10,000 blocked the process for ~40 s, and the 10,000 buffered asks timed out unsent.
    this.#finish(messageId, false);
    pending.reject(error);
  }

  /** Ends the waiting request `messageId` with `error` (sending it failed). */
  cancel(messageId: string, error: unknown): void {
    this.#finish(messageId)?.reject(error as Error);
  }

  /** Rejects every waiting request (the bus closed). */
  closeAll(error: Error): void {
    const all = [...this.#pending];
    if (this.#only !== undefined) all.unshift([this.#only.messageId, this.#only]);
    for (const [messageId, pending] of all) {
      this.#finish(messageId);
      pending.reject(error);
    }
  }

  // Appends a request to the list of its timeout; arms (or references again) the list's timer.
  #enlist(pending: Pending): void {
    const timeout = pending.timeout;
    let list = this.#deadlines.get(timeout);
    if (list === undefined) {
      list = { timeout, head: undefined, tail: undefined, timer: undefined };
      this.#deadlines.set(timeout, list);
    }
    pending.deadline = pending.opened + timeout;
    pending.deadlines = list;
    const tail = list.tail;
    if (tail === undefined) {
      list.head = pending;
      // A timer armed for an older head fires before this deadline and re-arms: it only needs a reference.
      if (list.timer === undefined) this.#arm(list, timeout);
      else list.timer.ref();
    } else {
      tail.next = pending;
      pending.prev = tail;
    }
    list.tail = pending;
  }

  // Forgets an empty list of the timeouts and stops its timer.
  #drop(list: Deadlines): void {
    if (list.timer !== undefined) clearTimeout(list.timer);
    list.timer = undefined;
    if (this.#deadlines.get(list.timeout) === list) this.#deadlines.delete(list.timeout);
  }

  // Takes a request out of its list (its timer stays armed: see #finish).
  static #delist(pending: Pending): void {
    const list = pending.deadlines as Deadlines;
    const { prev, next } = pending;
    if (prev === undefined) list.head = next;
    else prev.next = next;
    if (next === undefined) list.tail = prev;
    else next.prev = prev;
    pending.prev = pending.next = pending.deadlines = undefined;
  }

  // Whole ms, rounded up: one Timeout armed with a fractional delay makes every Timeout's delay field a
  // double, which deoptimizes every function that handled a timer (recompiled inside the round trips).
  #arm(list: Deadlines, delay: number): void {
    list.timer = setTimeout(RequestTable.#fired, Math.ceil(delay), this, list);
  }

  // Expires every request of the list whose deadline passed, then re-arms for the next one (a list left
  // empty is dropped: the next request of its timeout makes a new one).
  static #fired(table: RequestTable, list: Deadlines): void {
    list.timer = undefined;
    const now = performance.now();
    for (let head = list.head; head !== undefined && head.deadline <= now; head = list.head) {
      table.#expire(head.messageId);
      if (list.head === head) RequestTable.#delist(head);
    }
    const head = list.head;
    if (head !== undefined) table.#arm(list, Math.max(1, head.deadline - now));
    else if (table.#deadlines.get(list.timeout) === list) table.#deadlines.delete(list.timeout);
  }

  #expire(messageId: string): void {
    const pending = this.#finish(messageId);
    if (pending === undefined) return;
    if (pending.all) {
      pending.resolve(pending.answers);
      return;
    }
    this.#forgetSilent(pending);
    pending.reject(new RequestTimeoutError(pending.identifier, pending.timeout, pending.wanted, pending.answers));
  }

  #finish(messageId: string, counted = true): Pending | undefined {
    const pending = this.#find(messageId);
    if (pending === undefined) return undefined;
    if (counted) this.#finished++;
    if (pending === this.#only) this.#only = undefined;
    else this.#pending.delete(messageId);
    this.#held -= pending.answers.length;
    const list = pending.deadlines;
    if (list !== undefined) {
      RequestTable.#delist(pending);
      // An emptied list keeps its timer armed (unreferenced) for the next request of its timeout, but
      // only a few lists are kept so: with a timeout of its own per request (a deadline's remaining ms)
      // every answered request left a list and a Timeout behind until its timeout passed (42 MB for
      // 100,000 asks). Cleared before any unref: Node keeps ~120 bytes for each duration whose
      // unreferenced Timeout was cleared.
      if (list.head === undefined) {
        if (this.#deadlines.size > MAX_IDLE_TIMEOUTS) this.#drop(list);
        else list.timer?.unref();
      }
    } else pending.long?.clear();
    if (pending.signal !== undefined) this.#unwatch(pending.signal, pending);
    return pending;
  }

  // A request no longer waits: its signal's listener goes with the last request sharing it.
  #unwatch(signal: AbortSignal, pending: Pending): void {
    const sharing = this.#aborts.get(signal);
    if (sharing === undefined || !sharing.delete(pending) || sharing.size > 0) return;
    this.#aborts.delete(signal);
    signal.removeEventListener("abort", this.#onAbort);
  }

  // Rejects every request waiting on `signal`, oldest first.
  #aborted(signal: AbortSignal): void {
    const sharing = this.#aborts.get(signal);
    if (sharing === undefined) return;
    this.#aborts.delete(signal);
    signal.removeEventListener("abort", this.#onAbort);
    for (const pending of sharing) {
      if (this.#finish(pending.messageId) !== pending) continue;
      pending.reject(new RequestAbortedError(pending.identifier, pending.answers, signal.reason));
    }
  }

  #find(messageId: string): Pending | undefined {
    const only = this.#only;
    if (only !== undefined && only.messageId === messageId) return only;
    return this.#pending.size === 0 ? undefined : this.#pending.get(messageId);
  }

  #learn(identifier: string, bus: string): void {
    let servers = this.#servers.get(identifier);
    if (servers === undefined) {
      if (this.#servers.size >= MAX_BALANCED_IDENTIFIERS) this.#servers.delete(this.#servers.keys().next().value as string);
      servers = { buses: [], next: -1, calls: 0 };
      this.#servers.set(identifier, servers);
    }
    if (!servers.buses.includes(bus) && servers.buses.length < MAX_SERVERS) servers.buses.push(bus);
  }

  // A balanced call that ended with no answer from the bus it was addressed to: the next call goes to
  // another answerer instead of waiting out its timeout on this one.
  #forgetSilent(pending: Pending): void {
    if (pending.to !== undefined && pending.answers.length === 0) this.#forget(pending.identifier, pending.to);
  }

  #forget(identifier: string, bus: string): void {
    const servers = this.#servers.get(identifier);
    if (servers !== undefined) servers.buses = servers.buses.filter((known) => known !== bus);
  }
}

const tables = new WeakMap<object, RequestTable>();

/** The request table of `bus` (for its links: not exported from the package). */
export function requestTableOf(bus: object): RequestTable | undefined {
  return tables.get(bus);
}

/**
 * Whether an open link of the bus, other than those in `refusedBy`, started at or before `opened` (so
 * carried a request opened then). Given by the bus's links (their LinkTable).
 */
export type Carried = (opened: number, refusedBy: ReadonlySet<object>) => boolean;

// Without the links' table (a link that called none): any open link started before a request carried it.
const NO_CARRIER: Carried = () => true;

// Whether an open link carried the request that the links of `refusedBy` refused: the one it was routed by,
// if any (see `routed`), and it did not refuse; else any other open link started before it (`carried`).
function isCarried(pending: Pending, refusedBy: ReadonlySet<object>, carried: Carried): boolean {
  const via = pending.via;
  if (via !== undefined) return !via.closing && !refusedBy.has(via);
  return carried(pending.opened, refusedBy);
}

const NONE_REFUSED: ReadonlySet<object> = new Set();

// Whether a waiting request can get no answer any more (see `linkClosed`): one routed by a link of its
// own, or refused by some, is carried only as `isCarried` says; any other by an open link started before
// it. `carried` undefined (a link lost, see `linkLost`): the last rule only, for every request.
function isStranded(
  pending: Pending,
  busId: string,
  oldestOpenLink: number,
  followedHere: (identifier: string) => boolean,
  carried: Carried | undefined,
): boolean {
  if (carried !== undefined && (pending.via !== undefined || pending.refusedBy !== undefined)) {
    if (isCarried(pending, pending.refusedBy ?? NONE_REFUSED, carried)) return false;
  } else if (pending.opened >= oldestOpenLink) return false;
  const deliveredHere = pending.to === undefined || pending.to === busId;
  return !deliveredHere || !followedHere(pending.identifier);
}

// What a request's resolve and reject are until its Promise's executor has run (at once, in `open`).
function unset(): void {}

// Whether `message` can be an answer to `pending`, whose messageId it names in `inReplyTo` (a far side can
// name any): it comes under the request's `replyTo`, or is an error answer (under `berrymq-reply:*`, where
// errors to talk() come too); a balanced request's comes from the bus it went to, or is the error answer
// of a bus that relayed that bus's answer and could not pass it on (`answeredBy`: see Bus#answerFailed).
function isAnswerTo(pending: Pending, message: Message, bus: string): boolean {
  if (pending.to !== undefined && bus !== pending.to && !(isErrorAnswer(message) && message.kwargs.answeredBy === pending.to))
    return false;
  return message.id === pending.replyTo || (message.name === REPLY_NAME && isErrorAnswer(message));
}

function isErrorAnswer(message: Message): boolean {
  return message.name === REPLY_NAME && message.kwargs.error !== undefined;
}

// An error answer's payload is checked: it came from another process.
function toAnswer(message: Message, identifier: string, bus: string): Answer {
  if (!isErrorAnswer(message)) return { ok: true, value: message.args[0], bus, messageId: message.messageId };
  const payload = message.kwargs.error as { name?: unknown; message?: unknown } | null;
  const name = typeof payload?.name === "string" ? payload.name : "Error";
  const text = typeof payload?.message === "string" ? payload.message : "(no message)";
  const bounded = boundedError(name, text);
  return { ok: false, error: new RemoteError(bounded.name, bounded.message, bus, identifier), bus, messageId: message.messageId };
}

/**
 * The error answer's payload for what a follower threw: its name and message, bounded in length. Never
 * throws, whatever was thrown: `String()` of a null-prototype object, a `message` that is no string, a
 * throwing `name` getter or a Proxy threw here, and the asker got no answer (a TypeError instead, or an
 * unhandled rejection for an async follower).
 */
export function errorPayload(error: unknown): { name: string; message: string } {
  if (!isError(error)) return boundedError("Error", readable(() => (typeof error === "object" && error !== null ? describe(error) : String(error))));
  // A name that is no string (or cannot be read) is "Error"; a message that is no string is described.
  const name = readable(() => (typeof error.name === "string" ? error.name : "Error"));
  return boundedError(name === UNREADABLE ? "Error" : name, readable(() => error.message));
}

const UNREADABLE = "(a thrown value that could not be read)";

// `instanceof` runs a Proxy's getPrototypeOf trap, which may throw.
function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

// A string read from a thrown value: a non-string described, a throwing getter or trap as UNREADABLE.
function readable(read: () => unknown): string {
  try {
    const value = read();
    return typeof value === "string" ? value : describe(value);
  } catch {
    return UNREADABLE;
  }
}

// Both when sending and when receiving (a far side need not have bounded them).
function boundedError(name: string, message: string): { name: string; message: string } {
  return { name: name.slice(0, 200), message: message.slice(0, 4_000) };
}
