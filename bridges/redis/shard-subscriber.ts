import { EventEmitter } from "eventemitter3";
import type { Cluster } from "ioredis";
import { closeClient, openClient, type RedisConnection, whenReady } from "./connection.js";
import type { SubscriberEvents } from "./subscriber.js";

/** Events of a {@link ShardSubscriber}: as a {@link Subscriber}'s, with `smessage` for sharded channels. */
export interface ShardSubscriberEvents extends Omit<SubscriberEvents, "pmessage"> {
  /** A message on a subscribed sharded channel. */
  smessage: [channel: string, message: string];
}

/** How long the subscribers must stay connected after a failure before the outage counts as over, in ms. */
const STABLE = 2_000;

/**
 * Sharded pub/sub on a Redis Cluster (Redis 7 SSUBSCRIBE): one subscriber connection per master that owns
 * a subscribed channel's slot (ioredis `shardedSubscribers`), moved to the promoted replica on a failover.
 * A subscriber connection that ends is reported as `lost` (what its master published meanwhile is missed),
 * and `resubscribed` once every channel is subscribed again.
 */
export class ShardSubscriber extends EventEmitter<ShardSubscriberEvents> {
  readonly #client: Cluster;
  readonly #channels = new Set<string>();
  #wasReady = false;
  #lost = false;
  #closed = false;
  #stable: NodeJS.Timeout | undefined;

  /** Opens the subscriber client on the Cluster `connection` (nothing is subscribed yet). */
  constructor(connection: RedisConnection, connectionName: string) {
    super();
    this.#client = openClient(connection, { connectionName, shardedSubscribers: true }) as Cluster;
    this.#client.on("smessage", (channel: string, message: string) => this.emit("smessage", channel, message));
    this.#client.on("error", () => {}); // reported once, as `lost`
    // "-node" also tells of the client's ordinary connections; only a subscriber's end (which ioredis
    // does not signal for the subscribers it stops itself) loses messages.
    this.#client.on("-node", (node: { options?: { connectionName?: string } } | null) => {
      if (!(node?.options?.connectionName ?? "").includes("(ssubscriber)")) return;
      clearTimeout(this.#stable);
      if (this.#closed || !this.#wasReady || this.#lost || this.#channels.size === 0) return;
      this.#lost = true;
      this.emit("lost", new Error("a sharded subscriber connection to a Redis Cluster node ended"));
    });
    // A slot moved to another master (resharding: Redis unsubscribes its channels, SUNSUBSCRIBE pushed
    // unasked) also loses what is published until ioredis subscribes on the new master. ioredis hears it
    // only on its subscribers' group emitter (internal in ioredis 6, not re-emitted by the Cluster); before
    // r27 such a loss went unreported.
    const group = (this.#client as unknown as { subscriberGroupEmitter?: EventEmitter }).subscriberGroupEmitter;
    group?.on("moved", () => {
      if (this.#closed || !this.#wasReady || this.#lost || this.#channels.size === 0) return;
      this.#lost = true;
      this.emit("lost", new Error("a sharded channel's slot moved to another Redis Cluster master (resharding)"));
    });
    // ioredis retries a failed node's subscriber until the replica is promoted, saying "ready" between
    // tries: the outage is over once the subscribers have been ready for STABLE ms.
    this.#client.on("subscribersReady", () => {
      if (this.#closed || !this.#lost) return;
      clearTimeout(this.#stable);
      this.#stable = setTimeout(() => {
        this.#lost = false;
        this.emit("resubscribed");
      }, STABLE);
    });
  }

  /** The sharded channels subscribed now. */
  get channels(): readonly string[] {
    return [...this.#channels];
  }

  /**
   * Subscribes to more channels (one SSUBSCRIBE each: channels of different slots live on different masters).
   * After the first connection, while the Cluster client reconnects (every node gone a while), the commands
   * wait in ioredis's offline queue and go once it is ready: waiting for `ready` here rejected at the
   * client's first connection error, and a channel added during such an outage was never subscribed (its
   * messages missed for good; before r32).
   */
  async ssubscribe(channels: readonly string[]): Promise<void> {
    if (!this.#wasReady) await whenReady(this.#client);
    this.#wasReady = true;
    const fresh = channels.filter((channel) => !this.#channels.has(channel));
    for (const channel of fresh) this.#channels.add(channel);
    await Promise.all(fresh.map((channel) => this.#client.ssubscribe(channel)));
  }

  /**
   * Unsubscribes from channels, also while the Cluster client reconnects (queued as `ssubscribe`'s are):
   * skipped then before r32, the channel stayed in ioredis's list, which it subscribes again on reconnecting,
   * so a channel given up during an outage stayed subscribed at Redis for good.
   */
  async sunsubscribe(channels: readonly string[]): Promise<void> {
    const known = channels.filter((channel) => this.#channels.delete(channel));
    if (this.#client.status === "end") return;
    await Promise.all(known.map((channel) => this.#client.sunsubscribe(channel)));
  }

  /** Closes every subscriber connection: QUIT, cut after `grace` ms without an answer (closeClient's default). */
  async close(grace?: number): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#stable);
    await closeClient(this.#client, grace);
  }

  /** Cuts the connections at once (for a close that Redis does not answer). */
  disconnect(): void {
    this.#closed = true;
    clearTimeout(this.#stable);
    this.#client.disconnect();
  }
}
