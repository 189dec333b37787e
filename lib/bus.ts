import { randomInt, randomUUID } from "node:crypto";
import { EventEmitter } from "eventemitter3";
import { ConcurrencyLimiter, isThenable } from "./concurrency-limiter.js";
import {
  type BerryError,
  BusClosedError,
  DeliveryOverflowError,
  emitError,
  FollowerRemovedError,
  FollowerError,
  InvalidArgumentError,
  ListenerError,
} from "./errors.js";
import type { ArgsOf, EventMap, IsUntyped, Untyped } from "./event-map.js";
import { type FollowingSpec, followerThis, followingSpecsOf, type Guard, registrationKey } from "./follower-metadata.js";
import { refuseClassConstructor } from "./class-constructor.js";
import { refuseGeneratorFunction, refuseGeneratorMethod, refuseGeneratorResult } from "./generator-function.js";
import { Held, held } from "./held.js";
import { type Identifier, MAX_CACHED_IDENTIFIER_LENGTH, parseIdentifier } from "./identifier.js";
import { checkNoKwargs, Kwargs, NO_KWARGS, splitKwargs } from "./kwargs.js";
import { emitEach, eventKey } from "./emit-each.js";
import { type Message, newMessage, withHop } from "./message.js";
import { MAX_RECENT_IDS, RecentIds } from "./recent-ids.js";
import {
  type Answer,
  checkNoWithin,
  DEFAULT_MAX_HELD_ANSWERS,
  DEFAULT_MAX_PENDING_REQUESTS,
  errorPayload,
  NO_OPTIONS,
  RequestTable,
  Within,
} from "./request.js";
import { REPLY_NAME, replyIdentifierFor } from "./reserved.js";
import { RESOLVED } from "./resolved.js";
import { type Routable, RoutingIndex } from "./routing-index.js";
import type { AnswerOf, MatchingIds as MatchingIdsOf, MessageFor, PatternOf, SendArgs } from "./typed-identifiers.js";

/** A plain-function follower: receives the message, may return a value (or a promise) for `talk()`. */
export type FollowerFunction<M extends Message = Message> = (message: M) => unknown;

/** Removes what was registered; returns whether it was still registered. */
export type Unsubscribe = () => boolean;

/** Options of a follower (`M`: the message type on a typed bus). */
export interface FollowOptions<M extends Message = Message> {
  /** Receives only messages for which this returns true (berryMQ's guard condition). */
  guard?: (message: M) => boolean;
  /** Name used in error reports; defaults to the function's name. */
  label?: string;
}

/** Options of a bus. */
export interface BusOptions {
  /** Unique id of this bus (default: a random UUID); it appears in every message's `hops` and starts its messageIds: 1 to 200 characters, no C0 control character (U+0000–U+001F) nor DEL. */
  id?: string;
  /** Bound on followers running at once; see {@link Bus.setMultiplicity}. */
  multiplicity?: number;
  /** Deliveries waiting for a multiplicity slot at once (default 100,000); past it one is dropped and reported (DeliveryOverflowError). */
  maxWaiting?: number;
  /**
   * How many injected messageIds `inject` remembers to drop duplicates (default 100,000; at most 2^31 - 2).
   * A bus's own ids cost 4–9 bytes each here, any other id a string in a Set (~117 bytes).
   */
  dedupeWindow?: number;
  /** Requests waiting for answers at once; past this `request` refuses (default 100,000). */
  maxPendingRequests?: number;
  /**
   * Answers held at once by the requests waiting here, all together (default 1,000,000); an answer past it
   * ends its request at once with AnswerOverflowError, which carries the answers it had.
   */
  maxHeldAnswers?: number;
}

/** What a queue hands the bus when it attaches: `offer` returns whether the message was taken. */
export interface QueueSink {
  offer(message: Message): boolean;
  /** Called when the bus closes. */
  close(): void;
}

/** Events a bus emits (through eventemitter3). */
export interface BusEvents {
  /** A follower threw or rejected, a guard threw, or a bounded queue overflowed. */
  error: [error: BerryError];
  /** Every message dispatched here, after local delivery; links listen to this. */
  message: [message: Message];
  /** A pattern got its first follower or queue (links that import only what is followed listen). */
  follow: [pattern: Identifier];
  /** A pattern lost its last follower or queue. */
  unfollow: [pattern: Identifier];
}

// Entries are kept small (seven fields, no copy of the pattern: `key` is its canonical id): a follower
// costs its entry and, for a pattern of its own, one map slot in the index.
interface FollowerEntry extends Routable {
  readonly kind: "follower";
  readonly label: string;
  readonly guard: Guard | undefined;
  active: boolean;
  /** Runs the follower; returns GONE when its (weakly held) instance was collected. */
  call(message: Message): unknown;
}

interface QueueEntry extends Routable {
  readonly kind: "queue";
  readonly sink: QueueSink;
  active: boolean;
}

type Receiver = FollowerEntry | QueueEntry;

/** What `twitter` caches per identifier string: its parse, and its receivers as of an index version. */
interface Route {
  readonly identifier: Identifier;
  receivers: readonly Receiver[];
  version: number;
}

/** What `talk()` resolves to on a typed bus: the first arg of the callback identifier's payload. */
export type TalkResult<E, C extends string> =
  IsUntyped<E> extends true ? unknown : E extends EventMap ? ArgsOf<E[MatchingIdsOf<E, C>]>[0] : unknown;

/**
 * What `talk`, `ask` and `request` take after the identifier(s): what `twitter` takes, then optionally
 * `within({...})` last.
 */
export type RequestArgs<E, P extends string> =
  | Extract<SendArgs<E, P>, unknown[]>
  | [...Extract<SendArgs<E, P>, unknown[]>, Within];

// `ask`/`request`'s first overload takes an identifier literal only: `ask<string>(...)` on an untyped bus
// (an answer type, where `string` also fits that overload's pattern) goes on to the one with the answer type.
type Literal<P extends string> = string extends P ? never : P;

const ROUTE_CACHE_LIMIT = 10_000;

const GONE: unique symbol = Symbol("berrymq.gone");

/**
 * An in-process message bus: routes each message to every matching follower and queue, in registration
 * order, and on to any links. Isolated from every other bus; the module-level functions use `defaultBus`.
 * @example
 * const bus = new Bus();
 * bus.follow("job:*", (m) => console.log(m.id, m.args));
 * bus.twitter("job:done", 42); // logs "job:done [ 42 ]", returns 1
 */
export class Bus<Events extends EventMap | Untyped = Untyped> extends EventEmitter<BusEvents> {
  /** Unique id of this bus; recorded in the `hops` of every message it dispatches. */
  readonly id: string;
  readonly #index = new RoutingIndex<Receiver>();
  readonly #routes = new Map<string, Route>();
  readonly #hops: readonly string[];
  // Per registered instance, its method followers by their `@following` declaration.
  readonly #instances = new WeakMap<object, Map<FollowingSpec, FollowerEntry>>();
  readonly #finalizer = new FinalizationRegistry<Map<FollowingSpec, FollowerEntry>>((entries) =>
    this.#removeAll([...entries.values()]),
  );
  #seq = 0;
  // Message sequence numbers start at a random point: a process restarted under the same bus id must
  // not reuse the messageIds its predecessor sent (peers would drop them as duplicates).
  #counter = randomInt(2 ** 40);
  #limiter: ConcurrencyLimiter | undefined;
  // Whether #invoke's last outcome is its own promise. A follower's result has its `then` read once, in
  // #invoke's try: read again (a getter, a Proxy's trap) it threw out of a dispatch, and the followers
  // after it never ran. Read right after each #invoke, before anything else can invoke.
  #settling = false;
  readonly #maxWaiting: number;
  #closed = false;
  readonly #injected: RecentIds;
  // The messageIds of refused requests answered (see #answerRefused); made at the first.
  #refusalsAnswered: RecentIds | undefined;
  readonly #requests: RequestTable;
  readonly #replyId: string;
  // Answers to send after the current dispatch, in order (request, value or error, ...): one microtask
  // sends them all, rather than a promise and a closure each.
  #answersDue: unknown[] = [];
  readonly #sendAnswers = (): void => {
    const due = this.#answersDue;
    this.#answersDue = [];
    for (let i = 0; i < due.length; i += 3) {
      const request = due[i] as Message;
      const error = due[i + 2] as { name: string; message: string } | undefined;
      if (error === undefined) this.#answer(request, request.replyTo as string, due[i + 1], undefined);
      else this.#answer(request, replyIdentifierFor(request.hops[0] ?? this.id), undefined, error);
    }
  };

  constructor(options: BusOptions = {}) {
    super();
    if (options.id !== undefined && !isBusId(options.id)) {
      // It starts every messageId (at most 256 characters on the wire) and names the bus in link frames,
      // where a newline ends it: a longer id or a control character got every message refused far away.
      throw new InvalidArgumentError(
        "id",
        options.id,
        `a string of 1 to ${MAX_BUS_ID_LENGTH} characters without C0 control characters or DEL`,
      );
    }
    this.id = options.id ?? randomUUID();
    this.#hops = Object.freeze([this.id]);
    const window = options.dedupeWindow ?? 100_000;
    if (!Number.isInteger(window) || window < 1 || window > MAX_RECENT_IDS) {
      throw new InvalidArgumentError("dedupeWindow", window, `an integer from 1 to ${MAX_RECENT_IDS}`);
    }
    this.#injected = new RecentIds(window);
    const maxPending = options.maxPendingRequests ?? DEFAULT_MAX_PENDING_REQUESTS;
    if (!Number.isInteger(maxPending) || maxPending < 1) {
      throw new InvalidArgumentError("maxPendingRequests", maxPending, "an integer >= 1");
    }
    const maxHeld = options.maxHeldAnswers ?? DEFAULT_MAX_HELD_ANSWERS;
    if (!Number.isInteger(maxHeld) || maxHeld < 1) throw new InvalidArgumentError("maxHeldAnswers", maxHeld, "an integer >= 1");
    this.#requests = new RequestTable(maxPending, this, maxHeld);
    errorAnswerSenders.set(this, this.#answerFailed);
    refusalAnswerers.set(this, this.#answerRefused);
    this.#replyId = replyIdentifierFor(this.id);
    const maxWaiting = options.maxWaiting ?? DEFAULT_MAX_WAITING;
    if (!Number.isInteger(maxWaiting) || maxWaiting < 1)
      throw new InvalidArgumentError("maxWaiting", maxWaiting, "an integer >= 1");
    this.#maxWaiting = maxWaiting;
    if (options.multiplicity !== undefined) this.setMultiplicity(options.multiplicity);
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Number of followers and queues registered. */
  get size(): number {
    return this.#index.size;
  }

  /**
   * Sends a message to every matching follower and queue, synchronously and in registration order. Put
   * `kw({...})` last to pass kwargs. A wildcard in `identifier` reaches every follower it matches.
   * @returns how many followers and queues received it.
   * @example bus.twitter("app:log", "disk full", kw({ level: 3 }))
   */
  twitter<const P extends PatternOf<Events>>(identifier: P, ...args: Extract<SendArgs<Events, P>, unknown[]>): number;
  twitter(identifier: string, ...args: unknown[]): number {
    if (this.#closed) throw new BusClosedError(this.id);
    let kwargs = NO_KWARGS;
    const lastAt = args.length - 1;
    if (lastAt >= 0) {
      const last = args[lastAt];
      if (last instanceof Kwargs) {
        args.pop();
        kwargs = last.values;
      } else if (last instanceof Within) {
        // It went to the followers as an argument: nothing waits for answers here.
        throw new InvalidArgumentError(
          "within()",
          last.options,
          "no twitter() argument: talk(), ask() and request() take it, last",
        );
      }
      // The last argument was checked just above: a lone argument needs no scan.
      if (lastAt > 0) checkNoMarkers(args);
    }
    const route = this.#route(identifier);
    const message = newMessage(route.identifier, args, kwargs, this.#hops, ++this.#counter, undefined, undefined);
    const reached = this.#deliver(route.receivers, message, undefined);
    this.#published(message);
    return reached;
  }

  /**
   * Sends `identifier` like `twitter`, then sends each follower's (awaited) result that is not
   * `undefined` as a `callbackIdentifier` message with the result as its only argument. Followers in
   * other processes answer the same way, through their links.
   * The answers go to the asking bus only (followers of `callbackIdentifier` there receive them).
   * With `within({...})` last, the promise waits for answers from every linked process too (by default
   * all that come within the timeout) instead of the local results only.
   * @returns the results, failed followers left out: without options the local followers' results in
   * registration order; with options every answer's value in arrival order.
   * @example const sums = await bus.talk("calc:add", "calc:result", 1, 2);
   * @example const everywhere = await bus.talk("calc:add", "calc:result", 1, 2, within({ timeout: 300 }));
   */
  talk<const P extends PatternOf<Events>, const C extends PatternOf<Events>>(
    identifier: P,
    callbackIdentifier: C,
    ...args: RequestArgs<Events, P>
  ): Promise<TalkResult<Events, C>[]>;
  async talk(identifier: string, callbackIdentifier: string, ...args: unknown[]): Promise<unknown[]> {
    this.#checkOpen();
    const replyTo = parseIdentifier(callbackIdentifier).id;
    const last = args[args.length - 1];
    if (last instanceof Within) {
      const answers = (await this.#request(identifier, replyTo, args, "all")) as Answer[];
      return answers.flatMap((answer) => (answer.ok ? [answer.value] : []));
    }
    const { args: plain, kwargs } = splitKwargs(args);
    checkNoWithin(plain);
    const route = this.#route(identifier);
    const message = newMessage(route.identifier, plain, kwargs, this.#hops, ++this.#counter, replyTo, undefined);
    const results: unknown[] = [];
    this.#deliver(route.receivers, message, results);
    this.emit("message", message);
    const settled = await Promise.all(results);
    const values: unknown[] = [];
    for (let i = 0; i < settled.length; i++) {
      const value = Held.unwrap(settled[i]);
      // GONE: a method follower whose instance was collected while its delivery waited for a slot.
      if (value !== undefined && value !== GONE) values.push(value);
    }
    return values;
  }

  /**
   * Asks the followers of `identifier` here and in every linked process, and resolves to their answers
   * (values, or RemoteErrors of followers that failed). Options go last, as `within({...})`: how many
   * answers (default 1), `timeout` (default 5,000 ms; too few answers reject with RequestTimeoutError
   * carrying those received), an AbortSignal, `balanced`.
   * On a typed bus the identifier and args are checked like `twitter`'s, and the answers' type is the
   * map's `answer` for the identifier (`unknown` where it declares none); `request<R, P>` names it instead.
   * @example const [answer] = await bus.request("calc:add", 1, 2); // { ok: true, value: 3, bus: "…" }
   */
  request<const P extends PatternOf<Events>>(
    identifier: Literal<P>,
    ...args: RequestArgs<Events, P>
  ): Promise<Answer<AnswerOf<Events, P>>[]>;
  // An explicit answer type: on a typed bus name the identifier too (`request<R, "calc:add">`), or P is every pattern.
  request<R, const P extends PatternOf<Events> = PatternOf<Events>>(
    identifier: P,
    ...args: RequestArgs<Events, P>
  ): Promise<Answer<R>[]>;
  request(identifier: string, ...args: unknown[]): Promise<Answer[]> {
    return this.#request(identifier, this.#replyId, args, 1) as Promise<Answer[]>;
  }

  /**
   * Asks like `request` and resolves to the first answer's value; a follower's failure rejects with its
   * RemoteError. Options as `request`'s, last: `within({ timeout: 500 })`.
   * Typed like `request`.
   * @example const sum = await bus.ask<number>("calc:add", 1, 2);
   */
  ask<const P extends PatternOf<Events>>(identifier: Literal<P>, ...args: RequestArgs<Events, P>): Promise<AnswerOf<Events, P>>;
  ask<R, const P extends PatternOf<Events> = PatternOf<Events>>(identifier: P, ...args: RequestArgs<Events, P>): Promise<R>;
  ask(identifier: string, ...args: unknown[]): Promise<unknown> {
    const last = args[args.length - 1];
    if (last instanceof Within && last.options.count !== undefined && last.options.count !== 1) {
      return Promise.reject(
        new InvalidArgumentError("count", last.options.count, "1 (or left out) for ask(); use request() for more"),
      );
    }
    return this.#request(identifier, this.#replyId, args, 1, true);
  }

  // `args` is the caller's rest array (ours to keep: it becomes the message's args once the options and
  // kwargs markers at its end are taken off). `first` (ask): the promise is of the one answer's value,
  // not of the list.
  #request(identifier: string, replyTo: string, args: unknown[], defaultCount: number | "all", first = false): Promise<unknown> {
    try {
      this.#checkOpen();
      let end = args.length;
      const last = args[end - 1];
      // A kept within() is checked once, not per request (see Within.checked).
      let within = NO_OPTIONS;
      if (last instanceof Within) {
        within = last;
        end--;
      }
      const checked = within.checked(defaultCount);
      const marker = args[end - 1];
      let kwargs = NO_KWARGS;
      if (end > 0 && marker instanceof Kwargs) {
        kwargs = marker.values;
        end--;
      }
      if (end < args.length) args.length = end;
      checkNoKwargs(args);
      checkNoWithin(args);
      const plain = args;
      const route = this.#route(identifier);
      this.#requests.checkRoom(route.identifier.id);
      const to = checked.balanced ? this.#requests.pick(route.identifier.id) : undefined;
      const message = newMessage(route.identifier, plain, kwargs, this.#hops, ++this.#counter, replyTo, undefined, to);
      if (checked.balanced && to === undefined) this.#requests.probe(message.messageId, route.identifier.id);
      const answers = this.#requests.open(message.messageId, route.identifier.id, replyTo, checked, to, first);
      try {
        if (to === undefined || to === this.id) this.#deliver(route.receivers, message, undefined);
        this.emit("message", message);
      } catch (error) {
        // A `message` listener threw: the request ends with its error now. Left waiting, its promise
        // (the caller had the error instead) rejected again at the timeout, unhandled.
        this.#requests.cancel(message.messageId, error);
      }
      return answers;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Requests of this bus waiting for answers. */
  get pendingRequests(): number {
    return this.#requests.size;
  }

  /**
   * Delivers a ready-made message here (to followers, queues, then the `message` event). A message
   * addressed to another bus (`to`) only passes through: links route it on, followers do not see it.
   * An answer addressed here settles the request it answers.
   * @returns how many followers and queues received it.
   */
  dispatch(message: Message): number {
    this.#checkOpen();
    if (!this.#forHere(message)) {
      this.#published(message);
      return 0;
    }
    const reached = this.#deliver(this.#index.lookup(message), message, undefined);
    this.#published(message);
    return reached;
  }

  /**
   * Entry point of messages from other processes: records this bus in `hops` and dispatches. A message
   * already seen here (it passed through this bus, or its messageId was injected before) is ignored and
   * `undefined` returned, so rings and meshes of links deliver each message once.
   * @returns how many followers and queues received it, or `undefined` for a duplicate.
   */
  inject(message: Message): number | undefined {
    // `add` answers whether the id was new: one look-up rather than `has` and then `add`.
    if (message.hops.includes(this.id) || !this.#injected.add(message.messageId)) return undefined;
    return this.dispatch(withHop(message, this.id));
  }

  /**
   * Like `inject`, but resolves once every follower it reached has finished — async followers' promises
   * settled (failures are reported as usual). Transports that acknowledge delivery use this.
   * @returns how many followers and queues received it, or `undefined` for a duplicate.
   */
  injectSettled(message: Message): Promise<number | undefined> {
    // Not `async`, and no Promise.all when no follower returned a promise: the acknowledged path made
    // four promises per message that way, a share of its GC. A throw still becomes a rejection.
    try {
      if (this.hasSeen(message)) return Promise.resolve(undefined);
      this.#checkOpen();
      this.#injected.add(message.messageId);
      const hopped = withHop(message, this.id);
      if (message.to !== undefined || message.inReplyTo !== undefined) return Promise.resolve(this.dispatch(hopped));
      const outcomes: unknown[] = [];
      const reached = this.#deliver(this.#index.lookup(hopped), hopped, outcomes);
      this.#published(hopped);
      for (let i = 0; i < outcomes.length; i++) if (isThenable(outcomes[i])) return Promise.all(outcomes).then(() => reached);
      return Promise.resolve(reached);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Whether `inject` would drop this message as a duplicate. */
  hasSeen(message: Pick<Message, "messageId" | "hops">): boolean {
    return message.hops.includes(this.id) || this.#injected.has(message.messageId);
  }

  /**
   * Registers a plain function as a follower of `pattern`.
   * @returns a function that unsubscribes it.
   * @example const stop = bus.follow("*:error", (m) => console.error(m.args)); stop();
   */
  follow<const P extends PatternOf<Events>>(
    pattern: P,
    follower: FollowerFunction<Extract<MessageFor<Events, P>, Message>>,
    options?: FollowOptions<Extract<MessageFor<Events, P>, Message>>,
  ): Unsubscribe;
  // `never`: the typed overload's followers take narrower messages; at run time every message is a Message.
  follow(pattern: string, follower: FollowerFunction<never>, options: FollowOptions<never> = {}): Unsubscribe {
    this.#checkOpen();
    if (typeof follower !== "function") throw new InvalidArgumentError("follower", follower, "a function");
    refuseGeneratorFunction("follower", follower);
    refuseClassConstructor("follower", follower);
    // Error reports put it in their text: a Symbol there threw out of twitter() (or, for an async follower,
    // became an unhandled rejection) in place of the report, and the followers after it never ran.
    if (options.label !== undefined && typeof options.label !== "string") {
      throw new InvalidArgumentError("label", options.label, "a string");
    }
    const label = options.label ?? (typeof follower.name === "string" && follower.name !== "" ? follower.name : "(anonymous)");
    const parsed = parseIdentifier(pattern);
    // The caller's string when it is canonical already, rather than another copy of it.
    const key = parsed.id === pattern ? pattern : parsed.id;
    const entry = this.#follower(key, label, options.guard as Guard | undefined, follower as FollowerFunction);
    this.#add(entry, parsed);
    return () => this.#removeAll([entry]);
  }

  /**
   * Registers every `@following` method of an instance (or, given a class, its static `@following`
   * methods). Held weakly: once garbage collected it stops receiving. Registering again adds only the
   * followers declared since, never a duplicate. `@Follower` classes call this once an instance is built.
   * @returns a function that unregisters it.
   */
  register(target: object): Unsubscribe {
    this.#checkOpen();
    if ((typeof target !== "object" && typeof target !== "function") || target === null) {
      throw new InvalidArgumentError("instance", target, "an object with @following methods");
    }
    const key = registrationKey(target);
    const specs = followingSpecsOf(key);
    let entries = this.#instances.get(key);
    const owner = typeof key === "function" ? key.name : (key.constructor?.name ?? "Object");
    // A subclass may override a `@following` method with a generator (it compiles: the base returned
    // void): called with each message, its body never ran, and every message was lost without a word.
    const self = followerThis(key);
    for (const spec of specs) {
      if (!entries?.has(spec)) refuseGeneratorMethod(`method ${owner}.${String(spec.method)}`, self, spec.method);
    }
    if (entries === undefined) {
      if (specs.length === 0) {
        throw new InvalidArgumentError("instance", target, "an object with at least one @following method");
      }
      entries = new Map();
      this.#instances.set(key, entries);
      this.#finalizer.register(key, entries, key);
    }
    const ref = new WeakRef(key);
    for (const spec of specs) {
      if (entries.has(spec)) continue;
      const entry = this.#methodFollower(ref, owner, spec);
      entries.set(spec, entry);
      this.#add(entry, spec.pattern);
    }
    return () => this.unregister(key);
  }

  /** Stops an instance's (or a class's static) `@following` methods receiving; returns whether it was registered. */
  unregister(target: object): boolean {
    const key = registrationKey(target);
    const entries = this.#instances.get(key);
    if (entries === undefined) return false;
    this.#instances.delete(key);
    this.#finalizer.unregister(key);
    return this.#removeAll([...entries.values()]);
  }

  /**
   * Attaches a queue's sink to receive messages matching `filter`. Used by {@link Queue}; links and
   * adapters with queue semantics use it too.
   * @returns a function that detaches it.
   */
  attachQueue(filter: Identifier, sink: QueueSink): Unsubscribe {
    this.#checkOpen();
    const entry: QueueEntry = { kind: "queue", seq: ++this.#seq, key: filter.id, sink, active: true };
    this.#add(entry, filter);
    return () => this.#removeAll([entry]);
  }

  /** The distinct patterns followed here (by followers and queues), in no particular order. */
  patterns(): Identifier[] {
    return this.#index.patterns();
  }

  /**
   * Bounds how many followers run at once (berryMQ's `set_multiplicity`): a follower holds its slot until
   * the promise it returned settles. While every slot is taken, further deliveries wait in order, so
   * `twitter()` returns before they run; past `maxWaiting` of them (a BusOptions bound) one more is
   * dropped, reported as a DeliveryOverflowError and not counted. `Infinity` removes the bound.
   */
  setMultiplicity(limit: number): void {
    if (limit === Number.POSITIVE_INFINITY && this.#limiter === undefined) return;
    if (this.#limiter === undefined) this.#limiter = new ConcurrencyLimiter(limit);
    else this.#limiter.limit = limit;
  }

  /** Current bound on followers running at once (`Infinity` when unbounded). */
  get multiplicity(): number {
    return this.#limiter?.limit ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Reports an error on the `error` event; with no listener it becomes a process warning, so that no
   * failure goes unseen. An `error` listener that throws reaches neither the sender nor the followers
   * still to run: its failure becomes one process warning.
   */
  report(error: BerryError): void {
    emitError(this, error, (unheard) => process.emitWarning(unheard));
  }

  /** Closes the bus: every queue is closed, every follower removed; later sends throw BusClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const receiver of this.#index.all()) {
      receiver.active = false;
      this.#index.remove(receiver);
      if (receiver.kind === "queue") receiver.sink.close();
    }
    this.#routes.clear();
    this.removeAllListeners();
    this.#requests.closeAll(new BusClosedError(this.id));
  }

  // Parsing and routing an identifier string cost two map look-ups; this makes them one.
  #route(identifier: string): Route {
    let route = this.#routes.get(identifier);
    if (route === undefined) {
      if (this.#routes.size >= ROUTE_CACHE_LIMIT) this.#routes.clear();
      const parsed = parseIdentifier(identifier);
      route = { identifier: parsed, receivers: this.#index.lookup(parsed), version: this.#index.version };
      if (identifier.length <= MAX_CACHED_IDENTIFIER_LENGTH) this.#routes.set(identifier, route);
    } else if (route.version !== this.#index.version) {
      route.receivers = this.#index.lookup(route.identifier);
      route.version = this.#index.version;
    }
    return route;
  }

  // The `message` event, skipped when nobody listens: an emit costs more than the check (~12 ns against
  // ~1.5 ns once eventemitter3's emit is shared with other emitters).
  // Each listener in its own try, as for answers (see #emitAnswer): one that threw reached the sender
  // (for a relayed message, the link that received it) and kept the message from the listeners after it,
  // so links started after it never forwarded it (the buses beyond a relaying bus lost it).
  #published(message: Message): void {
    if (this.listenerCount("message") !== 0) emitEach(this, EVENT_KEYS.message, "message", message, message, this.#publishThrew);
  }

  readonly #publishThrew = (thrown: unknown, message: Message): void => {
    this.report(new FollowerError("'message' listener", message.id, message.messageId, thrown));
  };

  // Settles an answer addressed here; false for what only passes through or is for no follower.
  #forHere(message: Message): boolean {
    if (message.to !== undefined && message.to !== this.id) return false;
    if (message.inReplyTo !== undefined && message.to !== undefined) this.#requests.settle(message);
    return message.name !== REPLY_NAME;
  }

  #checkOpen(): void {
    if (this.#closed) throw new BusClosedError(this.id);
  }

  // `receivers` is a snapshot: followers added meanwhile miss this message, removed ones are skipped.
  #deliver(receivers: readonly Receiver[], message: Message, results: unknown[] | undefined): number {
    const limiter = this.#limiter;
    const replying = message.replyTo !== undefined;
    const collecting = replying || results !== undefined;
    let reached = 0;
    for (let i = 0; i < receivers.length; i++) {
      const receiver = receivers[i] as Receiver;
      if (!receiver.active) continue;
      if (receiver.kind === "queue") {
        if (receiver.sink.offer(message)) reached++;
        continue;
      }
      if (receiver.guard !== undefined && !this.#passes(receiver, message)) continue;
      const outcome =
        limiter === undefined ? this.#invoke(receiver, message) : this.#invokeLimited(limiter, receiver, message, replying);
      if (outcome === GONE) continue;
      reached++;
      if (!collecting) continue;
      if (limiter !== undefined) {
        // Already answered, and a synchronous result held (see #invokeLimited).
        if (results !== undefined) results.push(outcome);
        continue;
      }
      const settling = this.#settling;
      if (replying && outcome !== undefined) this.#replyWith(message, outcome, settling);
      if (results !== undefined) results.push(settling ? outcome : held(outcome));
    }
    return reached;
  }

  #passes(receiver: FollowerEntry, message: Message): boolean {
    try {
      const passed: unknown = (receiver.guard as Guard)(message);
      if (passed === true || passed === false) return passed;
      // An async guard's promise is never `true`: every message was dropped without a word.
      if (isThenable(passed)) {
        // Reported here, once: a native promise's rejection is no unhandled one. Any other thenable is left
        // alone: Promise.resolve() called its `then`, which a lazy one (a query builder) takes as "run now".
        if (passed instanceof Promise) Promise.prototype.then.call(passed, undefined, ignore);
        throw new InvalidArgumentError("guard result", passed, "a boolean: a guard is synchronous (a promise is never true)");
      }
      return false;
    } catch (error) {
      this.report(new FollowerError(`${receiver.label} (guard)`, message.id, message.messageId, error));
      return false;
    }
  }

  // Apart from #deliver: a closure there would capture `receiver`, and every iteration would then
  // allocate a context for it, limiter or not. The answer is sent when the follower ran, which may be
  // after a wait for a slot: so answers keep the order in which followers ran (a failure's too).
  #invokeLimited(limiter: ConcurrencyLimiter, receiver: FollowerEntry, message: Message, replying: boolean): unknown {
    // Deliveries waiting for a slot hold their message each: a flood into slow followers grew them without end.
    if (limiter.waiting >= this.#maxWaiting && limiter.running >= limiter.limit) {
      const dropped = new DeliveryOverflowError(receiver.label, this.#maxWaiting, message);
      this.report(dropped);
      // An asker hears of it as of a failed follower, rather than waiting out its timeout.
      if (replying) this.#answerLater(message, undefined, errorPayload(dropped));
      return GONE;
    }
    return limiter.run(() => {
      // Removed, or the bus closed, while it waited for a slot: skipped, as a dispatch skips it. An asker
      // (the bus still open) hears of it rather than waiting out its timeout.
      if (this.#closed) return undefined;
      if (!receiver.active) {
        if (replying) this.#answerLater(message, undefined, errorPayload(new FollowerRemovedError(receiver.label, message)));
        return undefined;
      }
      const outcome = this.#invoke(receiver, message);
      const settling = this.#settling;
      if (replying && outcome !== undefined && outcome !== GONE) this.#replyWith(message, outcome, settling);
      // The limiter reads `then` of what it gets, and a waiting delivery's promise resolves with it.
      return settling ? outcome : held(outcome);
    });
  }

  // Never throws or rejects: a failing follower is reported and yields undefined, the others go on.
  // Sets #settling: whether the outcome is this method's own promise.
  #invoke(receiver: FollowerEntry, message: Message): unknown {
    let outcome: unknown;
    try {
      outcome = receiver.call(message);
      // A result whose `then` its maker read already (expose's answers): taken as it is, not read again.
      if (Held.is(outcome)) {
        this.#settling = false;
        return Held.unwrap(outcome);
      }
      // Inside the try: reading `then` runs a getter (or a Proxy's trap) of the follower's result.
      if (!isThenable(outcome)) {
        this.#settling = false;
        return outcome;
      }
    } catch (error) {
      this.#failed(receiver, message, error);
      this.#settling = false;
      return undefined;
    }
    try {
      // Also in a try: a native promise's own `then` or `constructor` (a getter, a subclass) runs here.
      const settled = Promise.resolve(outcome).then(undefined, (error: unknown) => {
        this.#failed(receiver, message, error);
        return undefined;
      });
      this.#settling = true;
      return settled;
    } catch (error) {
      this.#failed(receiver, message, error);
      this.#settling = false;
      return undefined;
    }
  }

  // Reported here; the asker of a request gets the error's name and message as an error answer.
  #failed(receiver: FollowerEntry, message: Message, error: unknown): void {
    // Like results, after the current dispatch (and after the answers of followers that ran before it).
    if (message.replyTo !== undefined) this.#answerLater(message, undefined, errorPayload(error));
    let failure: FollowerError;
    try {
      failure = new FollowerError(receiver.label, message.id, message.messageId, error);
    } catch {
      // Its message reads the thrown value, which may throw (a Proxy, a throwing `message` getter).
      failure = new FollowerError(receiver.label, message.id, message.messageId, errorPayload(error).message);
    }
    this.report(failure);
  }

  // Results go out as their own messages after the current dispatch, never nested inside it; a promise's
  // once it settles.
  #replyWith(message: Message, outcome: unknown, settling: boolean): void {
    if (!settling) {
      this.#answerLater(message, outcome, undefined);
      return;
    }
    void Promise.resolve(outcome).then((value) => {
      if (value === undefined || value === GONE) return;
      this.#answer(message, message.replyTo as string, value, undefined);
    });
  }

  #answerLater(request: Message, value: unknown, error: { name: string; message: string } | undefined): void {
    const due = this.#answersDue;
    // A resolved promise's then, not queueMicrotask (which builds an AsyncResource and a bound function).
    if (due.length === 0) void RESOLVED.then(this.#sendAnswers);
    due.push(request, value, error);
  }

  // An answer is addressed to the asking bus (the request's origin): delivered here if that is this bus,
  // else handed to the links, which route it toward the asker.
  // An error answer carries no args and the error as kwargs `{ error: { name, message } }`.
  #answer(request: Message, identifier: string, value: unknown, error: { name: string; message: string } | undefined): void {
    if (this.#closed) return;
    const route = this.#route(identifier);
    const to = request.hops[0] ?? this.id;
    const args = error === undefined ? [value] : [];
    const kwargs = error === undefined ? NO_KWARGS : Object.freeze({ error: Object.freeze(error) });
    const reply = newMessage(route.identifier, args, kwargs, this.#hops, ++this.#counter, undefined, request.messageId, to);
    if (to === this.id && this.#forHere(reply)) this.#deliver(route.receivers, reply, undefined);
    this.#emitAnswer(reply, request);
  }

  // The `message` event for an answer: like emit (once-listeners removed before their call, a listener
  // added meanwhile not called), each listener in its own try. A listener that throws is reported; thrown
  // out of emit, it was an unhandled rejection (nobody awaits an answer's sending) and lost the answers
  // sent after it in the same tick, and the listeners after it (links: the way back to the asker) missed
  // the answer. Replaying emit after a throw gave the listeners before it the answer twice.
  #emitAnswer(reply: Message, about: Message): void {
    this.#emitEach("message", reply, about);
  }

  // `event` like emit, each listener in its own try, a throw reported (see #emitAnswer; for `follow` and
  // `unfollow`, one that threw made follow() throw with the follower registered and no unsubscribe handle,
  // stopped an unregister halfway, became an uncaught exception from the finalizer, and kept the pattern
  // from the listeners after it: links that import only what is followed).
  #emitEach(event: "message", value: Message, about: Message): void;
  #emitEach(event: "follow" | "unfollow", value: Identifier): void;
  #emitEach(event: ListenedEvent, value: Message | Identifier, about?: Message): void {
    emitEach(this, EVENT_KEYS[event], event, value, about, this.#listenerThrew);
  }

  // What a listener of #emitEach threw, reported: `about` is the request of an answer's `message` event;
  // none for `follow` and `unfollow`, whose value is the pattern.
  readonly #listenerThrew = (thrown: unknown, about: Message | undefined, event: string, value: unknown): void => {
    this.report(
      about === undefined
        ? new ListenerError(event, (value as Identifier).id, thrown)
        : new FollowerError("'message' listener (an answer)", about.id, about.messageId, thrown),
    );
  };

  // An answer of this bus a link could not carry (a BigInt, past the far side's frame limit, a full
  // buffer): the asker gets an error answer naming why, rather than waiting out its timeout. Only for a
  // value answer: an error answer dropped in turn is reported only (no loop). `answeredBy` names the bus
  // whose answer it replaces: a balanced request takes answers only from the bus it went to, and ignored
  // a relay's error answer (waiting out its timeout, then forgetting the bus that had answered).
  readonly #answerFailed = (answer: Message, error: BerryError): void => {
    if (this.#closed || answer.inReplyTo === undefined || answer.to === undefined || answer.args.length === 0) return;
    const answeredBy = answer.hops[0] ?? this.id;
    const reply = newMessage(
      this.#route(answer.id).identifier,
      [],
      Object.freeze({ error: Object.freeze(errorPayload(error)), answeredBy }),
      this.#hops,
      ++this.#counter,
      undefined,
      answer.inReplyTo,
      answer.to,
    );
    // After the send that dropped the answer, not inside it.
    void RESOLVED.then(() => {
      if (!this.#closed) this.#emitAnswer(reply, answer);
    });
  };

  // A request a link's schema check refused (see answerRefused): its asker gets the refusal as an error
  // answer, as from a failed follower, when this bus would have answered it: a request (no answer itself)
  // for this bus or for everybody, not seen here before, that a follower here follows (its guard passing).
  // As a failing follower's, the error answer may be the first: ask() then rejects with it. Once per messageId
  // (a mesh brings the same request over several links, each refusing it).
  readonly #answerRefused = (request: Message, error: BerryError): boolean => {
    if (this.#closed || request.replyTo === undefined || request.inReplyTo !== undefined) return false;
    if ((request.to !== undefined && request.to !== this.id) || this.hasSeen(request)) return false;
    // A follower that would have run it: its guard passes too (a bus sharded by guards answers only its own).
    const answering = (receiver: Receiver): boolean =>
      receiver.kind === "follower" &&
      receiver.active &&
      (receiver.guard === undefined || this.#passes(receiver, request));
    if (!this.#index.lookup(request).some(answering)) return false;
    this.#refusalsAnswered ??= new RecentIds(REFUSALS_ANSWERED);
    if (!this.#refusalsAnswered.add(request.messageId)) return false;
    this.#answerLater(request, undefined, errorPayload(error));
    return true;
  };

  #follower(key: string, label: string, guard: Guard | undefined, call: FollowerFunction): FollowerEntry {
    if (guard !== undefined && typeof guard !== "function") throw new InvalidArgumentError("guard", guard, "a function");
    // Its iterator is no boolean: every message was dropped without a word, the guard's body never run.
    refuseGeneratorFunction("guard", guard);
    refuseClassConstructor("guard", guard);
    return { kind: "follower", seq: ++this.#seq, key, label, guard, active: true, call };
  }

  #methodFollower(ref: WeakRef<object>, className: string, spec: FollowingSpec): FollowerEntry {
    const label = `${className}.${String(spec.method)}`;
    const entry = this.#follower(spec.pattern.id, label, spec.guard, (message) => {
      const key = ref.deref();
      if (key === undefined) {
        this.#removeAll([entry]);
        return GONE;
      }
      // A static follower runs on the class as `@Follower` returned it, not on the class it wraps.
      const instance = followerThis(key) as Record<string | symbol, unknown>;
      const method = instance[spec.method];
      if (typeof method !== "function") {
        throw new InvalidArgumentError(`method ${label}`, method, "a function");
      }
      const result: unknown = method.call(instance, message);
      refuseGeneratorResult(`method ${label}`, method, result);
      return result;
    });
    return entry;
  }

  #add(entry: Receiver, pattern: Identifier): void {
    if (this.#index.add(entry)) this.#emitEach("follow", pattern);
  }

  #removeAll(entries: readonly Receiver[]): boolean {
    let removed = false;
    for (const entry of entries) {
      entry.active = false;
      const outcome = this.#index.remove(entry);
      if (outcome === "last" && !this.#closed) this.#emitEach("unfollow", parseIdentifier(entry.key));
      removed = outcome !== false || removed;
    }
    // A cached route's receivers held the removed followers (their closures and all they captured) until
    // its identifier was sent again or 10,000 others were: an unsubscribed follower was never collected.
    if (removed) this.#routes.clear();
    return removed;
  }
}

function ignore(): void {}

/** How many refused requests' messageIds a bus remembers, so each is answered once. */
const REFUSALS_ANSWERED = 10_000;

/** Deliveries that may wait for a multiplicity slot at once, by default. */
const DEFAULT_MAX_WAITING = 100_000;

/** Longest bus id: `<id>/<sequence><8 random characters>` must stay within an envelope's 256-character messageId. */
const MAX_BUS_ID_LENGTH = 200;

function isBusId(id: unknown): id is string {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_BUS_ID_LENGTH) return false;
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

// One pass over a twitter()'s arguments (the hot path) for a kw() or within() that is not last; the
// checks that name it run only when one is there.
function checkNoMarkers(args: readonly unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const value = args[i];
    if (value instanceof Kwargs || value instanceof Within) {
      checkNoKwargs(args);
      checkNoWithin(args);
    }
  }
}

// The keys of the events emitted listener by listener (see #emitEach): an answer's `message`, `follow`
// and `unfollow`.
type ListenedEvent = "message" | "follow" | "unfollow";
const EVENT_KEYS: Readonly<Record<ListenedEvent, string>> = Object.freeze({
  message: eventKey("message"),
  follow: eventKey("follow"),
  unfollow: eventKey("unfollow"),
});

const errorAnswerSenders = new WeakMap<object, (answer: Message, error: BerryError) => void>();
const refusalAnswerers = new WeakMap<object, (request: Message, error: BerryError) => boolean>();

/**
 * For a link that dropped `answer`, an answer of `bus`'s: sends the asker an error answer naming `error`
 * instead (nothing for an error answer). Not exported from the package.
 */
export function answerUndeliverable(bus: object, answer: Message, error: BerryError): void {
  errorAnswerSenders.get(bus)?.(answer, error);
}

/**
 * For a link whose schema check refused `request` on its way into `bus`: answers the asker with `error`
 * as an error answer, when `bus` would have answered the request (for it or for everybody, not an answer
 * itself, a follower here follows its identifier); once per messageId. Not exported from the package.
 * @returns whether an error answer is to go out (after the current dispatch, as every answer).
 */
export function answerRefused(bus: object, request: Message, error: BerryError): boolean {
  return refusalAnswerers.get(bus)?.(request, error) ?? false;
}
