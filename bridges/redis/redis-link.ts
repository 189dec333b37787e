import type { ChainableCommander, Cluster, Redis } from "ioredis";
import { BerryError, emitError, InvalidArgumentError } from "../../lib/errors.js";
import type { Identifier } from "../../lib/identifier.js";
import type { Message } from "../../lib/message.js";
import { NEIGHBOURS_ID } from "../../lib/reserved.js";
import { type Envelope, envelopesJson, toEnvelope } from "../envelope.js";
import { InvalidEnvelopeError, UnsendableMessageError } from "../errors.js";
import { Link, type LinkOptions } from "../link.js";
import {
  closeClient,
  isCluster,
  openClient,
  type RedisClient,
  type RedisConnection,
  readyWithin,
  serversOf,
  whenReady,
  whereTried,
  whyFailed,
} from "./connection.js";
import { MessagesMayBeLostError, RedisCommandError, RedisConnectFailedError } from "./errors.js";
import { channelOf, type ShardedPlan, shardedPlan, subscriptionPatterns } from "./glob.js";
import { HashSlots } from "./hash-slot.js";
import { ReplylessFallbackError } from "./replyless-errors.js";
import { MAX_REFUSALS, type Publication, ReplylessPublisher, type Rewrite, SYNC_TIMEOUT } from "./replyless-publisher.js";
import { settlesWithin } from "./settles-within.js";
import { ShardSubscriber } from "./shard-subscriber.js";
import { Subscriber } from "./subscriber.js";
import { SubscriberLiveness } from "./subscriber-liveness.js";
import { WildcardRegistry } from "./wildcard-registry.js";

/** Frames longer than this (in UTF-16 units) are handed to ioredis as a Buffer. */
const STRING_FRAME = 8_192;
/**
 * Frames of several envelopes are cut to at most this many bytes. Redis cuts a subscriber whose output
 * buffer passes 32 MB (client-output-buffer-limit pubsub, by default): one frame of a batch of large
 * messages cut every subscriber, and all of the batch was lost.
 */
export const MAX_FRAME_BYTES = 1_048_576;
/**
 * A frame with this many invalid envelopes is refused from there on, unread. A bus writes none (a relayed
 * message past the hop limit, say, is one): a forged frame of a million would hold the event loop for
 * seconds and make a million reports.
 */
export const MAX_INVALID_ENVELOPES = 16;
/**
 * Default bound on one message's frame: Redis cuts every subscriber of a PUBLISH over its pub/sub output
 * limit (32 MB by default), losing whatever else they were sent meanwhile, so a larger message is refused.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 16_777_216;
/** How long `RedisLink.connect()` waits for the link to open by default, in ms (ioredis's own `connectTimeout`). */
const DEFAULT_CONNECT_TIMEOUT = 10_000;
/** How long closing waits for Redis to answer its QUITs before it cuts the connections, in ms. */
const CLOSE_GRACE = 5_000;

/** The sharded pub/sub parts of a link on a Redis Cluster. */
interface Sharded {
  subscriber: ShardSubscriber;
  registry: WildcardRegistry;
  /** The SSUBSCRIBE channels now. */
  channels: readonly string[];
}

/** Options of a {@link RedisLink}. */
export interface RedisLinkOptions extends LinkOptions {
  /** Where Redis is (default `redis://127.0.0.1:6379`). */
  connection?: RedisConnection;
  /** Prefix of every pub/sub channel; links with the same prefix form one bus (default `"berrymq:bus:"`). */
  prefix?: string;
  /**
   * On a Redis Cluster, use sharded pub/sub (SPUBLISH/SSUBSCRIBE) for concrete filters, and PUBLISH
   * only while some link of the prefix has a wildcard filter (default false; ignored elsewhere). Opt-in:
   * it cuts Redis CPU, but messages with different identifiers may then arrive out of order, and a
   * filter without `@ns` takes only the default namespace (see the README).
   */
  sharded?: boolean;
  /**
   * Publish over a socket of berrymq's own with `CLIENT REPLY OFF` (no reply per PUBLISH), confirmed
   * by a sync at most every 5 ms; unconfirmed batches are published again after a reconnection (at least
   * once). Standalone and Sentinel only, without TLS.
   * - `"auto"` (default): that socket where it works, else the ioredis client: on a Cluster or TLS from
   *   the start; and from the moment Redis refuses `CLIENT REPLY` on it (CLIENT renamed or forbidden, an
   *   ACL user without `+client|reply`, Redis < 3.2), at connect or at any reconnection, reported once
   *   (`REDIS_REPLYLESS_FALLBACK`), its unconfirmed batches published again over the client first.
   *   `publishPath` says which is in use.
   * - `true`: that socket or nothing: refused on a Cluster or TLS, `connect()` rejects
   *   (`REDIS_REPLYLESS_REFUSED`) where Redis refuses it, and a later refusal holds publishing (the link
   *   buffers and retries) until Redis takes it again.
   * - `false`: always the ioredis client.
   */
  replylessPublish?: boolean | "auto";
  /**
   * Bytes of one message's frame (its envelope, JSON, and the sender's id) at most (default 16 MiB, from
   * 1 MiB to 512 MiB): a larger message is not sent but dropped and reported (UnsendableMessageError),
   * because a PUBLISH over Redis's pub/sub output limit (32 MB by default) cuts every subscriber.
   */
  maxMessageBytes?: number;
  /**
   * How long `RedisLink.connect()` waits for the link to open, in ms (default 10,000; Infinity: no bound).
   * Past it, it closes what it opened and rejects with ConnectTimeoutError (`CONNECT_TIMEOUT`), naming the
   * servers it tried: a Redis that accepts connections and answers nothing, or a Cluster startup node
   * whose name does not resolve (ioredis then retries without a word), held it for ever. Not used by
   * `new RedisLink()`, whose `ready` waits.
   */
  connectTimeout?: number;
}

/** How a {@link RedisLink} publishes: over its replyless socket, or over its ioredis client. */
export type PublishPath = "replyless" | "client";

/**
 * Links the local bus to every other bus on the same Redis and prefix, over pub/sub (muppet's
 * RemoteChannel): exported messages are published on `<prefix><name>:<action>`, and the import filters
 * become pattern subscriptions. At most once: a bus that is not subscribed while a message is published
 * misses it (use a DurableChannel or RedisQueue for messages that must not be lost).
 * @example
 * const link = await RedisLink.connect({ bus, connection: "redis://127.0.0.1:6379", exportFilters: ["job:*"] });
 * bus.twitter("job:done", 42); // reaches every other bus linked with the same prefix
 * await link.close();
 */
export class RedisLink extends Link {
  /** Channel prefix in use. */
  readonly prefix: string;
  #patterns: readonly string[];
  /** Resolves once the link is subscribed and can publish; rejects if Redis could not be reached first. */
  readonly ready: Promise<void>;
  readonly #publisher: RedisClient;
  readonly #subscriber: Subscriber;
  /** PINGs #subscriber: noticing a dead connection is up to this side (it only reads). */
  readonly #liveness: SubscriberLiveness;
  /** The last PSUBSCRIBE/PUNSUBSCRIBE change, so that changes apply in order. */
  #subscribing: Promise<void> = Promise.resolve();
  /** The subscriber connections lost and not yet subscribed again. */
  readonly #lost = new Set<Subscriber | ShardSubscriber>();
  // Batches waiting for the lost subscriber connections (see transmit).
  readonly #resubscribeWaiters: (() => void)[] = [];
  /** Set on a Cluster with `sharded` (the default). */
  readonly #sharded: Sharded | undefined;
  /** The slots of the channels this link publishes on (sharded). */
  readonly #slots = new HashSlots();
  /** `<bus id>\n`, which starts every frame this link publishes; and the bus id in UTF-8. */
  readonly #origin: string;
  /**
   * Undefined for an id with a lone surrogate or U+FFFD: UTF-8 writes every lone surrogate as U+FFFD, so
   * another bus's origin could read as this one's; such a link skips no frame by its origin.
   */
  readonly #originBytes: Buffer | undefined;
  /** Set with `replylessPublish`: publishes instead of the ioredis client (which still picks the server). */
  #replyless: ReplylessPublisher | undefined;
  /** Why `"auto"` publishes over the client (undefined while replyless, or with `false`). */
  #fallback: string | undefined;
  /**
   * The PUBLISHes of the batches the replyless socket held unconfirmed when Redis refused it: published
   * over the client before any later batch (at least once: the socket may have had them run).
   */
  #held: readonly Publication[] = [];
  /** Set once close() counted the messages still unconfirmed or held lost. */
  #countedAtClose = false;
  /** The publishing of #held on its way. */
  #heldSending: Promise<void> | undefined;
  readonly #closeTimeout: number;
  readonly #maxMessageBytes: number;
  /**
   * The server's `proto-max-bulk-len`, or its `client-query-buffer-limit` less 1 KiB (the command around
   * the frame), whichever is lower, when below maxMessageBytes (read at each connection; undefined where
   * CONFIG is refused): Redis closes the connection of a PUBLISH with a larger frame.
   */
  #maxBulk: number | undefined;
  /** Which setting #maxBulk comes from. */
  #maxBulkSetting: "proto-max-bulk-len" | "client-query-buffer-limit" = "proto-max-bulk-len";
  /** The channel of the identifier last published on (a lone asker or answerer uses one or two). */
  #lastId = "";
  #lastChannel = "";

  /**
   * Opens a link and waits until it is subscribed, at most `connectTimeout` ms; closes it again if that
   * fails.
   * @throws RedisConnectFailedError (`REDIS_CONNECT_FAILED`) when Redis could not be reached, naming the
   * servers tried and why (ioredis's error is its `cause`); ConnectTimeoutError past `connectTimeout`.
   */
  static async connect(options: RedisLinkOptions = {}): Promise<RedisLink> {
    const timeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    if (typeof timeout !== "number" || (timeout !== Number.POSITIVE_INFINITY && (!Number.isInteger(timeout) || timeout < 1)))
      throw new InvalidArgumentError("connectTimeout", timeout, "an integer number of ms >= 1, or Infinity");
    const link = new RedisLink(options);
    try {
      await readyWithin(link.#publisher, link.ready, `link ${link.name}`, timeout);
    } catch (error) {
      const failed = await link.#connectFailed(error);
      await link.close();
      throw failed;
    }
    return link;
  }

  constructor(options: RedisLinkOptions = {}) {
    // Checked before super(): a bad option throws before the link is attached to the bus.
    // Not below MAX_FRAME_BYTES: a larger message then always has a frame of its own, where it is measured.
    const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < MAX_FRAME_BYTES || maxMessageBytes > 536_870_912) {
      throw new InvalidArgumentError("maxMessageBytes", maxMessageBytes, "an integer from 1,048,576 (1 MiB) to 536,870,912 (512 MiB)");
    }
    const replyless = options.replylessPublish ?? "auto";
    if (replyless !== true && replyless !== false && replyless !== "auto") {
      throw new InvalidArgumentError("replylessPublish", replyless, 'true, false or "auto"');
    }
    super(options);
    this.#maxMessageBytes = maxMessageBytes;
    this.prefix = options.prefix ?? "berrymq:bus:";
    this.#origin = `${this.bus.id}\n`;
    const originBytes = Buffer.from(this.bus.id);
    this.#originBytes = originBytes.toString() === this.bus.id && !this.bus.id.includes("\ufffd") ? originBytes : undefined;
    const connection = options.connection ?? "redis://127.0.0.1:6379";
    // What only the connection tells (its form; no replyless socket on a Cluster or TLS) throws after
    // super(): nothing of the link is left on the bus then either.
    try {
      // Publishing fails at once while Redis is down, so the Link buffers, reports and retries.
      this.#publisher = openClient(connection, { enableOfflineQueue: false, connectionName: `berrymq-link-pub:${this.bus.id}` });
      // A failed publish is buffered and retried by the Link, which reports the outage (LINK_DOWN).
      this.#publisher.on("error", () => {});
      this.#replyless = this.#replylessOf(this.#publisher, replyless);
    } catch (error) {
      this.abandon();
      throw error;
    }
    this.#closeTimeout = options.closeTimeout ?? 2_000;
    this.#subscriber = new Subscriber(connection, `berrymq-link-sub:${this.bus.id}`, this.#publisher);
    this.#subscriber.on("pmessage", (_pattern, _channel, frame) => this.#accept(frame));
    // A subscriber connection dead without a TCP close is cut, reported and subscribed again (see SubscriberLiveness).
    const subscriber = this.#subscriber;
    this.#liveness = new SubscriberLiveness({
      ping: () => subscriber.ping(),
      get delivered() {
        return subscriber.delivered;
      },
      cut: (why) => subscriber.cut(why),
    });
    // Pub/sub is at most once: an outage (or a Cluster failover) may lose what was published meanwhile.
    this.#watchLoss(this.#subscriber);
    const sharded = (options.sharded ?? false) && isCluster(this.#publisher);
    const plan = this.#plan(sharded);
    this.#patterns = plan.patterns;
    if (sharded) {
      const subscriber = new ShardSubscriber(connection, `berrymq-link-ssub:${this.bus.id}`);
      const registry = new WildcardRegistry(this.#publisher, this.prefix, this.bus.id);
      subscriber.on("smessage", (channel, frame) => {
        if (channel === registry.key) void registry.check();
        else this.#accept(frame);
      });
      this.#watchLoss(subscriber);
      subscriber.on("resubscribed", () => void registry.recover());
      this.#sharded = { subscriber, registry, channels: plan.channels };
    }
    this.ready = this.#open().catch(async (error: unknown) => {
      throw await this.#connectFailed(error);
    });
    this.ready.catch(() => {});
  }

  // What ioredis rejects with before the link opened (a bare ECONNREFUSED, "Connection is closed.", a
  // Cluster node's WRONGPASS that readyWithin refuses at once) names neither the link nor the server:
  // typed, naming both (a BerryError, e.g. ReplylessRefusedError, goes as it is).
  async #connectFailed(error: unknown): Promise<BerryError> {
    if (error instanceof BerryError) return error;
    return new RedisConnectFailedError(
      `link ${this.name}`,
      await whereTried(this.#publisher),
      serversOf(this.#publisher),
      error,
      whyFailed(this.#publisher, error),
    );
  }

  /** The PSUBSCRIBE patterns this link listens on (they follow `subscribe`/`unsubscribe` and `importFilters: "followers"`). */
  get patterns(): readonly string[] {
    return this.#patterns;
  }

  /**
   * How this link publishes now: `"replyless"` (its own socket with CLIENT REPLY OFF; until `ready`, the
   * socket being tried) or `"client"` (its ioredis client: `replylessPublish` false, or "auto" fell back).
   */
  get publishPath(): PublishPath {
    return this.#replyless !== undefined ? "replyless" : "client";
  }

  /** Why `replylessPublish: "auto"` publishes over the client (Cluster, TLS, Redis's refusal); else undefined. */
  get replylessFallback(): string | undefined {
    return this.#fallback;
  }

  /** The SSUBSCRIBE channels this link listens on (on a Cluster with `sharded`; else none). */
  get shardedChannels(): readonly string[] {
    return this.#sharded?.channels ?? [];
  }

  /**
   * Starts importing `filter` (see Link's `subscribe`); resolves once Redis confirmed the subscription, also
   * when the filter was already there with its subscription still under way (an earlier call not awaited, a
   * follower of an `importFilters: "followers"` link): that resolved at once, before r32, and a message
   * published right after was missed.
   */
  override async subscribe(filter: string): Promise<void> {
    await super.subscribe(filter);
    await this.#subscribing;
  }

  /** Stops importing `filter` (see Link's `unsubscribe`); resolves once Redis confirmed every change made so far. */
  override async unsubscribe(filter: string): Promise<boolean> {
    const removed = await super.unsubscribe(filter);
    await this.#subscribing;
    return removed;
  }

  /**
   * Resolves once every change of the import filters made so far (`subscribe`, `unsubscribe`, a follower or
   * queue come or gone under `importFilters: "followers"`) is subscribed at Redis: a message published after
   * reaches the followers that were there. A change that failed is reported on `error`, not here.
   * @example bus.follow("job:run", run); await link.subscriptionsApplied(); // job:run is subscribed
   */
  subscriptionsApplied(): Promise<void> {
    return this.#subscribing;
  }

  /** Applies changed import filters to the PSUBSCRIBE (and SSUBSCRIBE) sets, one change at a time, in order. */
  protected override importFiltersChanged(_added: readonly Identifier[], _removed: readonly Identifier[]): Promise<void> {
    const change = this.#subscribing.then(async () => {
      await this.ready.catch(() => {});
      const plan = this.#plan(this.#sharded !== undefined);
      const [added, removed] = difference(this.#patterns, plan.patterns);
      this.#patterns = plan.patterns;
      const sharded = this.#sharded;
      if (sharded !== undefined) {
        const [fresh, gone] = difference(sharded.channels, plan.channels);
        sharded.channels = plan.channels;
        // Registered before the patterns are subscribed, so publishers broadcast by the time they are.
        if (plan.patterns.length > 0) await sharded.registry.register(true);
        await sharded.subscriber.ssubscribe(fresh);
        await sharded.subscriber.sunsubscribe(gone);
      }
      if (added.length > 0) await this.#subscriber.psubscribe(added);
      if (removed.length > 0) await this.#subscriber.punsubscribe(removed);
      if (sharded !== undefined && plan.patterns.length === 0) await sharded.registry.register(false);
    });
    this.#subscribing = change.catch(() => {});
    return change;
  }

  // Not `async`: the lone PUBLISH's own promise goes back as it is (an async function's promise and an
  // await cost two more per batch); a throw is still a rejection.
  protected override transmit(batch: Envelope[]): Promise<unknown> {
    // A request (or talk) sent while a subscriber connection of this link is lost would be answered while
    // nobody here listens (pub/sub is at most once): after an outage its answer was missed whenever the
    // publisher came back before the subscriber (r29, seen in CI). It waits for the subscriber, a while.
    if (this.#lost.size > 0 && !this.closing && batch.some(asksForAnswers)) return this.#resubscribed().then(() => this.#transmitAfterHeld(batch));
    return this.#transmitAfterHeld(batch);
  }

  #transmitAfterHeld(batch: Envelope[]): Promise<unknown> {
    // After a fallback, what the replyless socket held goes first; a failure fails this batch too (retried).
    if (this.#held.length > 0) return this.#publishHeld().then(() => this.#transmitNow(batch));
    return this.#transmitNow(batch);
  }

  // Resolves once every lost subscriber connection is subscribed again, at most RESUBSCRIBE_WAIT ms later,
  // or when the link closes.
  #resubscribed(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        const at = this.#resubscribeWaiters.indexOf(done);
        if (at >= 0) this.#resubscribeWaiters.splice(at, 1);
        resolve();
      };
      const timer = setTimeout(done, RESUBSCRIBE_WAIT);
      this.#resubscribeWaiters.push(done);
    });
  }

  #releaseResubscribeWaiters(): void {
    for (const done of [...this.#resubscribeWaiters]) done();
  }

  #transmitNow(batch: Envelope[]): Promise<unknown> {
    try {
      if (this.#sharded !== undefined)
        return this.#transmitSharded(batch, this.#publisher as Cluster, this.#sharded.registry.present);
      if (this.#replyless !== undefined) return this.#replyless.publish(this.#publications(batch));
      // A lone envelope (a request or answer at 1 in flight) is one PUBLISH, without cutting the batch.
      if (batch.length === 1) return this.#publisher.publish(this.#channel((batch[0] as Envelope).id), this.#frame(batch));
      // One frame per run of messages with the same identifier: fewer PUBLISHes, same order.
      const runs = runsOf(batch);
      // A batch of one run in one frame is one PUBLISH: no pipeline to build.
      const frame = runs.length === 1 ? this.#frame(batch) : undefined;
      if (frame !== undefined && this.#fits(frame)) return this.#publisher.publish(this.#channel((batch[0] as Envelope).id), frame);
      const pipeline = this.#publisher.pipeline();
      for (const [channel, part] of this.#publications(batch, runs, frame)) pipeline.publish(channel, part);
      return execPipeline(pipeline);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // The PUBLISHes of a batch, as transmit cuts it: one per run of the same identifier, each run cut to
  // frames of at most MAX_FRAME_BYTES (`frame`: a lone run's frame, when built already).
  #publications(batch: Envelope[], runs = batch.length === 1 ? [batch] : runsOf(batch), frame?: string | Buffer): Publication[] {
    const publications: Publication[] = [];
    for (const run of runs) {
      const channel = this.#channel((run[0] as Envelope).id);
      for (const part of this.#frames(run, frame)) publications.push([channel, part]);
    }
    return publications;
  }

  // It cannot follow a Cluster (many servers) nor TLS (a plain socket only): refused with `true`, the
  // client with "auto". With "auto", Redis's refusal of the socket hands over to the client (#fellBack).
  #replylessOf(client: RedisClient, mode: boolean | "auto"): ReplylessPublisher | undefined {
    if (mode === false) return undefined;
    const unable = isCluster(client) ? "on a Redis Cluster" : client.options.tls !== undefined ? "on a TLS connection" : undefined;
    if (unable !== undefined && mode === true) {
      client.disconnect();
      throw new InvalidArgumentError("replylessPublish", true, `false or "auto" ${unable}`);
    }
    if (unable !== undefined) {
      this.#fallback = `no replyless socket ${unable}`;
      return undefined;
    }
    const onRefused = mode === "auto" ? this.#fellBack : undefined;
    // A PUBLISH Redis refused after its batch counted sent (see CHANNEL_RECHECK) is reported and counted
    // in stats.lost, not retried.
    const onLost = (error: RedisCommandError, lost: number): void => this.#lostAfterSent(error, lost);
    // An empty array of envelopes: a receiver takes it as nothing, no report (see #accept).
    const rewrite: Rewrite = { revise: this.#revise, refused: this.#refusedBatch, emptyFrame: `${this.#origin}[]` };
    return new ReplylessPublisher(client as Redis, `berrymq-link-rpub:${this.bus.id}`, onRefused, onLost, rewrite);
  }

  // Messages counted sent (their replyless batch went) that Redis will never take: counted lost, reported.
  #lostAfterSent(error: BerryError, lost: number): void {
    this.stats.lost += lost;
    this.#report(error);
  }

  // Before the replyless socket writes its unconfirmed batches again: the server's limits are read anew
  // (`CONFIG SET` may have lowered them since: Redis then takes a frame over them on no socket), a frame of
  // several messages over them is cut again, and a lone message's is left out, reported lost.
  readonly #revise = async (batches: readonly (readonly Publication[])[]): Promise<(readonly Publication[])[]> => {
    // Bounded: a client that hangs must not hold the socket for ever (the limits known are kept then).
    await settlesWithin(this.#readMaxBulk(), SYNC_TIMEOUT);
    // Past close's count (it counted every message still unconfirmed or held), nothing is counted twice.
    const unsendable = (envelope: Envelope, why: FrameTooLargeError): void => {
      if (!this.#countedAtClose) this.#lostAfterSent(new UnsendableMessageError(this.name, envelope, why), 1);
    };
    return batches.map((publications) => {
      if (publications.every(([, frame]) => this.#withinBulk(frame))) return publications;
      return publications.flatMap(([channel, frame]): Publication[] =>
        this.#withinBulk(frame) ? [[channel, frame]] : this.#frames(envelopesOf(frame), undefined, unsendable).map((part) => [channel, part]),
      );
    });
  };

  // A replyless batch Redis refused on MAX_REFUSALS sockets although it answered meanwhile (see
  // ReplylessPublisher): its messages are reported lost rather than stall every later one for ever.
  readonly #refusedBatch = (publications: readonly Publication[]): void => {
    const why = new RedisCommandError("PUBLISH", new Error(`Redis refused its batch on ${MAX_REFUSALS} connections while it answered others`));
    for (const [, frame] of publications)
      for (const envelope of envelopesOf(frame)) if (envelope.id !== NEIGHBOURS_ID) this.#lostAfterSent(new UnsendableMessageError(this.name, envelope, why), 1);
  };

  // Redis refused the replyless socket (the publisher closed itself): the client publishes from now on,
  // starting with what the socket held unconfirmed, now, and at the client's next `ready` if that fails.
  readonly #fellBack = (reason: string, unconfirmed: Publication[]): void => {
    this.#replyless = undefined;
    this.#fallback = reason;
    this.#held = unconfirmed;
    this.#report(new ReplylessFallbackError(this.name, reason, unconfirmed.length));
    if (unconfirmed.length === 0) return;
    const retry = (): void => {
      if (this.#held.length === 0) this.#publisher.off("ready", retry);
      else this.#publishHeld().catch(() => {});
    };
    this.#publisher.on("ready", retry);
    retry();
  };

  // Publishes #held over the client in one pipeline (one attempt at a time); empties it once Redis took it.
  // Revised first, as the replyless socket's own are (see #revise): one over limits lowered at run time
  // (maybe what the socket stalled on) failed the pipeline, the client reconnected, and it went again for ever.
  #publishHeld(): Promise<void> {
    this.#heldSending ??= this.#revise([this.#held])
      .then(([held = []]) => {
        this.#held = held;
        return execPipeline(held.reduce((pipeline, [channel, frame]) => pipeline.publish(channel, frame), this.#publisher.pipeline()));
      })
      .then(
        () => {
          this.#held = [];
          this.#heldSending = undefined;
        },
        (error: unknown) => {
          this.#heldSending = undefined;
          throw error;
        },
      );
    return this.#heldSending;
  }

  // On a Cluster: SPUBLISH reaches the concrete filters (served by the channel's master alone); PUBLISH,
  // copied to every node, only while some link has wildcard filters. A bus with both gets both copies and
  // keeps the first (messageId). Not `async`, as transmit: a lone command's promise goes back as it is.
  #transmitSharded(batch: Envelope[], cluster: Cluster, broadcast: boolean): Promise<unknown> {
    // PUBLISH copies keep the batch order (one node); SPUBLISH ones only the order within a slot.
    const runs = broadcast ? runsOf(batch) : this.#slotRuns(batch);
    // A lone run (the steady-flow case) is one command: no pipeline to build.
    const lone = runs.length === 1 && !broadcast ? this.#frame(batch) : undefined;
    if (lone !== undefined && this.#fits(lone)) return cluster.spublish(channelOf(this.prefix, (batch[0] as Envelope).id), lone);
    // One pipeline per group of nodes that serves the channels' slots (an ioredis Cluster pipeline must
    // stay on one): one write per master instead of one per run, and each master's runs stay in order.
    const groups = new Map<string, [channel: string, frame: string | Buffer][]>();
    // PUBLISH has no key: one pipeline keeps the batch on one node, in order.
    const broadcasts = broadcast ? cluster.pipeline() : undefined;
    for (const run of runs) {
      const channel = channelOf(this.prefix, (run[0] as Envelope).id);
      const group = cluster.slots[this.#slots.of(channel)]?.join(";") ?? "";
      let commands = groups.get(group);
      if (commands === undefined) {
        commands = [];
        groups.set(group, commands);
      }
      for (const frame of this.#frames(run, lone)) {
        commands.push([channel, frame]);
        broadcasts?.publish(channel, frame);
      }
    }
    const sent: Promise<unknown>[] = broadcasts === undefined ? [] : [execPipeline(broadcasts)];
    for (const commands of groups.values()) {
      // A master with one command needs no pipeline either.
      if (commands.length === 1) sent.push(cluster.spublish(...(commands[0] as [string, string | Buffer])));
      else
        sent.push(
          execPipeline(commands.reduce((pipeline, [channel, frame]) => pipeline.spublish(channel, frame), cluster.pipeline())),
        );
    }
    return Promise.all(sent);
  }

  // The batch cut into one run per identifier, except where identifiers share a slot: there (a hash-tagged
  // prefix puts every channel in one) runs stay consecutive, so that a slot's messages keep the batch order.
  // Channels of different slots may travel through different masters, so their relative order was never
  // kept: merging each identifier's messages there makes fewer, bigger frames (fewer SPUBLISHes and
  // deliveries) in the same per-identifier order.
  #slotRuns(batch: Envelope[]): Envelope[][] {
    const first = batch[0] as Envelope;
    if (batch.every((envelope) => envelope.id === first.id)) return [batch];
    const runs: Envelope[][] = [];
    // Each slot's run being filled, and that run's identifier.
    const open = new Map<number, { id: string; run: Envelope[] }>();
    for (const envelope of batch) {
      const slot = this.#slots.of(channelOf(this.prefix, envelope.id));
      const current = open.get(slot);
      if (current?.id === envelope.id) {
        current.run.push(envelope);
        continue;
      }
      const run = [envelope];
      runs.push(run);
      open.set(slot, { id: envelope.id, run });
    }
    return runs;
  }

  // A frame is "<origin bus id>\n<JSON array of envelopes>" (see #accept). A large one goes as bytes,
  // encoded once: as a string, ioredis measures its UTF-8 length, then the socket flattens and encodes it.
  // A lone envelope over maxMessageBytes throws: the Link then asks `unwritable`, which names it.
  #frame(run: readonly Envelope[]): string | Buffer {
    const frame = this.#origin + envelopesJson(run);
    if (frame.length <= STRING_FRAME) return frame;
    const bytes = Buffer.from(frame);
    if (run.length === 1 && bytes.length > this.#maxMessageBytes) throw new FrameTooLargeError(bytes.length, this.#maxMessageBytes);
    if (run.length === 1 && this.#maxBulk !== undefined && bytes.length > this.#maxBulk)
      throw new FrameTooLargeError(bytes.length, this.#maxBulk, this.#maxBulkSetting);
    return bytes;
  }

  // Whether a frame is within MAX_FRAME_BYTES, and #maxBulk (a string frame is short: see STRING_FRAME).
  #fits(frame: string | Buffer): boolean {
    return this.#withinBulk(frame) && (typeof frame === "string" || frame.length <= MAX_FRAME_BYTES);
  }

  // Whether a frame is within #maxBulk (a lone message's may pass MAX_FRAME_BYTES).
  #withinBulk(frame: string | Buffer): boolean {
    return typeof frame === "string" || this.#maxBulk === undefined || frame.length <= this.#maxBulk;
  }

  // Reads the server's limits (see #maxBulk); where CONFIG is refused, maxMessageBytes alone. A
  // multi-envelope frame is cut to within them too (#fits), a lone envelope's frame over them dropped.
  readonly #readMaxBulk = async (): Promise<void> => {
    const read = async (name: string): Promise<number> => {
      const answer = (await this.#publisher.config("GET", name)) as unknown;
      const value = Array.isArray(answer) ? Number(answer[1]) : Number.NaN;
      return Number.isSafeInteger(value) && value > 0 ? value : Number.POSITIVE_INFINITY;
    };
    try {
      const [bulk, query] = await Promise.all([read("proto-max-bulk-len"), read("client-query-buffer-limit")]);
      const limit = Math.min(bulk, query - 1_024);
      this.#maxBulk = limit < this.#maxMessageBytes ? limit : undefined;
      this.#maxBulkSetting = bulk <= query - 1_024 ? "proto-max-bulk-len" : "client-query-buffer-limit";
    } catch {
      // Renamed or forbidden (managed services): nothing learnt.
    }
  };

  // A down link with nothing left to send asks Redis itself (see Link's probeTransport): the publisher
  // refuses commands while disconnected (no offline queue), so a PONG means publishes go again. A hung Redis
  // holds the PING, and the link stays down until it answers.
  protected override probeTransport(): Promise<unknown> {
    return this.#publisher.ping();
  }

  // The message's lone frame, built as transmit builds it: the one measure of what is too large.
  protected override unwritable(message: Message): string | undefined {
    try {
      this.#frame([toEnvelope(message)]);
      return undefined;
    } catch (error) {
      return error instanceof FrameTooLargeError ? error.message : undefined;
    }
  }

  // The run's frame (`frame` when built already), cut in halves until each part fits MAX_FRAME_BYTES or
  // is one envelope (which goes whole: see the README), in order. A lone envelope too large throws, or,
  // with `unsendable`, is handed to it and left out.
  #frames(run: Envelope[], frame?: string | Buffer, unsendable?: (envelope: Envelope, why: FrameTooLargeError) => void): (string | Buffer)[] {
    let whole = frame;
    if (whole === undefined) {
      try {
        whole = this.#frame(run);
      } catch (error) {
        if (unsendable === undefined || !(error instanceof FrameTooLargeError)) throw error;
        unsendable(run[0] as Envelope, error);
        return [];
      }
    }
    if (run.length === 1 || this.#fits(whole)) return [whole];
    const half = Math.ceil(run.length / 2);
    return [...this.#frames(run.slice(0, half), undefined, unsendable), ...this.#frames(run.slice(half), undefined, unsendable)];
  }

  // The same string while the identifier stays: ioredis measures a fresh concatenation's length by
  // flattening it first, each time.
  #channel(id: string): string {
    if (id !== this.#lastId) {
      this.#lastChannel = channelOf(this.prefix, id);
      this.#lastId = id;
    }
    return this.#lastChannel;
  }

  // A Redis that is hung (connected, answering nothing) would hold the QUITs, and close(), for ever.
  protected override async closeTransport(): Promise<void> {
    this.#releaseResubscribeWaiters();
    this.#liveness.stop();
    const closed = (async () => {
      await this.#sharded?.registry.close();
      // Replyless batches not yet confirmed get one last sync (bounded by closeTimeout), or, held after a
      // fallback, one last attempt over the client; the rest are reported.
      if (this.#held.length > 0) await settlesWithin(this.#publishHeld().catch(() => {}), this.#closeTimeout);
      const unconfirmed = (await this.#replyless?.close(this.#closeTimeout)) ?? [];
      // Each message of them counted lost (they were counted sent), once: a revise still on its way
      // reports none of them again (see #revise).
      this.#countedAtClose = true;
      if (unconfirmed.length > 0) {
        const lost = unconfirmed.reduce((sum, publications) => sum + messagesIn(publications), 0);
        this.#lostAfterSent(
          new RedisCommandError(
            `confirming ${unconfirmed.length} published batches before close (${lost} messages, counted lost: Redis may not have run them)`,
            new Error("no confirmation within closeTimeout"),
          ),
          lost,
        );
      }
      if (this.#held.length > 0)
        this.#lostAfterSent(
          new RedisCommandError(
            `publishing again the ${this.#held.length} PUBLISHes the replyless socket held (${messagesIn(this.#held)} messages, counted lost)`,
            new Error("not done within closeTimeout"),
          ),
          messagesIn(this.#held),
        );
      // The subscribers' own bound outlasts this close's: the cut is made, and reported, here.
      const subscriberGrace = CLOSE_GRACE + this.#closeTimeout + 1_000;
      // Redis ran no sync within closeTimeout (paused, hung): the client's QUIT would wait behind its probes
      // of the batch (see ReplylessPublisher's #stalled) 5 s more, for nothing left to send: cut at once.
      const publisherGrace = unconfirmed.length > 0 ? 0 : undefined;
      await Promise.all([
        closeClient(this.#publisher, publisherGrace),
        this.#subscriber.close(subscriberGrace),
        this.#sharded?.subscriber.close(subscriberGrace),
      ]);
    })();
    if (await settlesWithin(closed, CLOSE_GRACE + this.#closeTimeout)) return closed;
    this.#report(
      new RedisCommandError("closing the link", new Error(`Redis did not answer within ${CLOSE_GRACE} ms: connections cut`)),
    );
    this.#publisher.disconnect();
    this.#subscriber.disconnect();
    this.#sharded?.subscriber.disconnect();
    await closed.catch(() => {});
  }

  async #open(): Promise<void> {
    const sharded = this.#sharded;
    await Promise.all([
      whenReady(this.#publisher).then(this.#readMaxBulk),
      this.#replyless?.opened,
      this.#subscriber.psubscribe(this.#patterns),
      sharded?.subscriber.ssubscribe([...sharded.channels, sharded.registry.key]),
    ]);
    // Read again at each reconnection (a failover may reach a server configured otherwise).
    this.#publisher.on("ready", () => void this.#readMaxBulk());
    if (sharded !== undefined) {
      await sharded.registry.register(this.#patterns.length > 0);
      await sharded.registry.check();
    }
    this.start();
  }

  // What to subscribe to: on a Cluster with sharded pub/sub, concrete filters take sharded channels.
  #plan(sharded: boolean): ShardedPlan {
    if (!sharded) return { channels: [], patterns: subscriptionPatterns(this.prefix, this.subscriptionFilters) };
    return shardedPlan(this.prefix, this.subscriptionFilters);
  }

  // A frame is "<origin bus id>\n<JSON array of envelopes>"; the origin lets a bus skip its own frames
  // undecoded. From the pattern subscriber it comes as bytes: only the JSON after the origin is decoded.
  #accept(frame: string | Buffer): void {
    let json: string | undefined;
    if (typeof frame === "string") {
      const newline = frame.indexOf("\n");
      const skips = this.#originBytes !== undefined;
      if (skips && newline > 0 && newline === this.bus.id.length && frame.startsWith(this.bus.id)) return;
      if (newline >= 0) json = frame.slice(newline + 1);
    } else {
      // UTF-8 never puts byte 10 inside a character: the first 10 is the first newline.
      const newline = frame.indexOf(10);
      const origin = this.#originBytes;
      // Without bytes of its own (see #originBytes) nothing is skipped here: its own envelopes name this
      // bus in their hops (JSON keeps a lone surrogate as \uXXXX), and the bus ignores them.
      if (origin !== undefined && newline > 0 && newline === origin.length && frame.compare(origin, 0, newline, 0, newline) === 0)
        return;
      if (newline >= 0) json = frame.toString("utf8", newline + 1);
    }
    let envelopes: unknown;
    try {
      envelopes = json === undefined ? undefined : JSON.parse(json);
    } catch {
      envelopes = undefined;
    }
    if (!Array.isArray(envelopes)) {
      this.stats.rejected++;
      // Its start says enough (the report shows 80 characters): a frame may be tens of MB.
      const text = typeof frame === "string" ? frame.slice(0, 200) : frame.toString("utf8", 0, 200);
      this.#report(new InvalidEnvelopeError("frame", text, "<bus id>\\n<JSON array of envelopes>"));
      return;
    }
    let invalid = 0;
    for (let i = 0; i < envelopes.length; i++) {
      try {
        this.receive(envelopes[i]);
      } catch (error) {
        this.#report(error as BerryError);
        if (++invalid < MAX_INVALID_ENVELOPES || i === envelopes.length - 1) continue;
        const unread = envelopes.length - i - 1;
        this.stats.rejected += unread;
        this.#report(
          new InvalidEnvelopeError("frame", `${MAX_INVALID_ENVELOPES} invalid envelopes, then ${unread} more`, `fewer than ${MAX_INVALID_ENVELOPES} invalid envelopes (the rest is refused unread)`),
        );
        return;
      }
    }
  }

  // One report per outage, however many of the link's subscriber connections it broke.
  #watchLoss(subscriber: Subscriber | ShardSubscriber): void {
    const lost = (cause: Error): void => {
      if (this.#lost.size === 0) this.#report(new MessagesMayBeLostError(this.name, cause));
      this.#lost.add(subscriber);
    };
    const back = (): void => {
      this.#lost.delete(subscriber);
      if (this.#lost.size === 0) this.#releaseResubscribeWaiters();
    };
    if (subscriber instanceof Subscriber) subscriber.on("lost", lost).on("resubscribed", back);
    else subscriber.on("lost", lost).on("resubscribed", back);
  }

  #report(error: BerryError): void {
    emitError(this, error, (unheard) => this.bus.report(unheard));
  }
}

/** What `after` adds to `before`, and what it drops. */
function difference(before: readonly string[], after: readonly string[]): [added: string[], removed: string[]] {
  const old = new Set(before);
  const now = new Set(after);
  return [after.filter((item) => !old.has(item)), before.filter((item) => !now.has(item))];
}

/** A lone message's frame over maxMessageBytes (thrown by transmit, named by `unwritable`). */
class FrameTooLargeError extends RangeError {
  constructor(bytes: number, max: number, limit: "maxMessageBytes" | "proto-max-bulk-len" | "client-query-buffer-limit" = "maxMessageBytes") {
    super(
      limit === "maxMessageBytes"
        ? `its frame is ${bytes} bytes, over maxMessageBytes (${max}): Redis would cut every subscriber`
        : `its frame is ${bytes} bytes, over this Redis's ${limit === "proto-max-bulk-len" ? "proto-max-bulk-len" : "client-query-buffer-limit less 1 KiB"} (${max}): Redis would refuse it and close the connection`,
    );
  }
}



/** The envelopes of a frame this link built ("<origin bus id>\n<JSON array of envelopes>"). */
function envelopesOf(frame: string | Buffer): Envelope[] {
  const text = typeof frame === "string" ? frame : frame.toString("utf8");
  return JSON.parse(text.slice(text.indexOf("\n") + 1)) as Envelope[];
}

/** How many messages the PUBLISHes carry (not the link's neighbour lists, which are not counted sent). */
function messagesIn(publications: readonly Publication[]): number {
  return publications.reduce((sum, [, frame]) => sum + envelopesOf(frame).filter((envelope) => envelope.id !== NEIGHBOURS_ID).length, 0);
}

/** The batch cut into runs of consecutive envelopes with the same identifier (the batch itself when it is one). */
function runsOf(batch: Envelope[]): Envelope[][] {
  const runs: Envelope[][] = [];
  let start = 0;
  for (let i = 1; i <= batch.length; i++) {
    if (i < batch.length && batch[i]?.id === batch[start]?.id) continue;
    runs.push(start === 0 && i === batch.length ? batch : batch.slice(start, i));
    start = i;
  }
  return runs;
}

/** Runs a pipeline; throws its first error. */
async function execPipeline(pipeline: ChainableCommander): Promise<void> {
  const results = await pipeline.exec();
  if (results === null) throw new Error("redis pipeline was discarded");
  for (const [error] of results) if (error) throw error;
}

// How long a batch holding a request waits for a lost subscriber connection (see RedisLink's transmit):
// ioredis retries a connection every 2 s at most, so a subscriber back with its Redis is back within it.
const RESUBSCRIBE_WAIT = 2_000;

// Whether a message of the batch waits for answers (a request or a talk()), which come back over pub/sub.
function asksForAnswers(envelope: Envelope): boolean {
  return envelope.replyTo !== undefined;
}
