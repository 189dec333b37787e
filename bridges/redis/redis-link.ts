import type { BerryError } from "../../lib/errors.js";
import type { Identifier } from "../../lib/identifier.js";
import type { Envelope } from "../envelope.js";
import { InvalidEnvelopeError } from "../errors.js";
import { Link, type LinkOptions } from "../link.js";
import { closeClient, openClient, type RedisClient, type RedisConnection, whenReady } from "./connection.js";
import { MessagesMayBeLostError } from "./errors.js";
import { channelOf, subscriptionPatterns } from "./glob.js";
import { Subscriber } from "./subscriber.js";

/** Options of a {@link RedisLink}. */
export interface RedisLinkOptions extends LinkOptions {
  /** Where Redis is (default `redis://127.0.0.1:6379`). */
  connection?: RedisConnection;
  /** Prefix of every pub/sub channel; links with the same prefix form one bus (default `"berrymq:bus:"`). */
  prefix?: string;
}

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
  /** The last PSUBSCRIBE/PUNSUBSCRIBE change, so that changes apply in order. */
  #subscribing: Promise<void> = Promise.resolve();

  /** Opens a link and waits until it is subscribed; closes it again and rethrows if that fails. */
  static async connect(options: RedisLinkOptions = {}): Promise<RedisLink> {
    const link = new RedisLink(options);
    try {
      await link.ready;
    } catch (error) {
      await link.close();
      throw error;
    }
    return link;
  }

  constructor(options: RedisLinkOptions = {}) {
    super(options);
    this.prefix = options.prefix ?? "berrymq:bus:";
    this.#patterns = subscriptionPatterns(this.prefix, this.subscriptionFilters);
    const connection = options.connection ?? "redis://127.0.0.1:6379";
    // Publishing fails at once while Redis is down, so the Link buffers, reports and retries.
    this.#publisher = openClient(connection, { enableOfflineQueue: false, connectionName: `berrymq-link-pub:${this.bus.id}` });
    // A failed publish is buffered and retried by the Link, which reports the outage (LINK_DOWN).
    this.#publisher.on("error", () => {});
    this.#subscriber = new Subscriber(connection, `berrymq-link-sub:${this.bus.id}`, this.#publisher);
    this.#subscriber.on("pmessage", (_pattern, _channel, frame) => this.#accept(frame));
    // Pub/sub is at most once: an outage (or a Cluster failover) may lose what was published meanwhile.
    this.#subscriber.on("lost", (cause) => this.#report(new MessagesMayBeLostError(this.name, cause)));
    this.ready = this.#open();
    this.ready.catch(() => {});
  }

  /** The PSUBSCRIBE patterns this link listens on (they follow `subscribe`/`unsubscribe` and `importFilters: "followers"`). */
  get patterns(): readonly string[] {
    return this.#patterns;
  }

  /** Applies changed import filters to the PSUBSCRIBE set, one change at a time, in order. */
  protected override importFiltersChanged(_added: readonly Identifier[], _removed: readonly Identifier[]): Promise<void> {
    const change = this.#subscribing.then(async () => {
      await this.ready.catch(() => {});
      const before = new Set(this.#patterns);
      const after = subscriptionPatterns(this.prefix, this.subscriptionFilters);
      this.#patterns = after;
      const added = after.filter((pattern) => !before.has(pattern));
      const removed = [...before].filter((pattern) => !after.includes(pattern));
      if (added.length > 0) await this.#subscriber.psubscribe(added);
      if (removed.length > 0) await this.#subscriber.punsubscribe(removed);
    });
    this.#subscribing = change.catch(() => {});
    return change;
  }

  protected override async transmit(batch: Envelope[]): Promise<void> {
    // One frame per run of messages with the same identifier: fewer PUBLISHes, same order.
    const pipeline = this.#publisher.pipeline();
    let start = 0;
    for (let i = 1; i <= batch.length; i++) {
      if (i < batch.length && batch[i]?.id === batch[start]?.id) continue;
      const run = batch.slice(start, i);
      pipeline.publish(channelOf(this.prefix, (run[0] as Envelope).id), `${this.bus.id}\n${JSON.stringify(run)}`);
      start = i;
    }
    const results = await pipeline.exec();
    if (results === null) throw new Error("redis pipeline was discarded");
    for (const [error] of results) if (error) throw error;
  }

  protected override async closeTransport(): Promise<void> {
    await Promise.all([closeClient(this.#publisher), this.#subscriber.close()]);
  }

  async #open(): Promise<void> {
    await Promise.all([whenReady(this.#publisher), this.#subscriber.psubscribe(this.#patterns)]);
    this.start();
  }

  // A frame is "<origin bus id>\n<JSON array of envelopes>"; the origin lets a bus skip its own frames unparsed.
  #accept(frame: string): void {
    const newline = frame.indexOf("\n");
    if (newline > 0 && frame.slice(0, newline) === this.bus.id) return;
    let envelopes: unknown;
    try {
      envelopes = JSON.parse(frame.slice(newline + 1));
    } catch {
      envelopes = undefined;
    }
    if (newline < 0 || !Array.isArray(envelopes)) {
      this.stats.rejected++;
      this.#report(new InvalidEnvelopeError("frame", frame, "<bus id>\\n<JSON array of envelopes>"));
      return;
    }
    for (const envelope of envelopes) {
      try {
        this.receive(envelope);
      } catch (error) {
        this.#report(error as BerryError);
      }
    }
  }

  #report(error: BerryError): void {
    if (!this.emit("error", error)) this.bus.report(error);
  }
}
