import { EventEmitter } from "eventemitter3";
import { Redis } from "ioredis";
import { closeClient, isCluster, openClient, type RedisClient, type RedisConnection, whenReady } from "./connection.js";

/** How long {@link Subscriber.close} waits for its QUIT's answer by default before it cuts the connection, in ms. */
export const SUBSCRIBER_CLOSE_GRACE = 30_000;

/** Events of a {@link Subscriber}. */
export interface SubscriberEvents {
  /** A message on a subscribed pattern, as bytes (its reader decodes only what it needs). */
  pmessage: [pattern: string, channel: Buffer, message: Buffer];
  /** The subscribed connection broke: whatever is published until `resubscribed` is missed. */
  lost: [cause: Error];
  /** Subscribed again after a loss. */
  resubscribed: [];
}

/**
 * One pattern-subscribed connection that says when it may have missed messages. On a standalone or
 * Sentinel-managed Redis it is a client that reconnects (and resubscribes) by itself; on a Cluster it is a
 * connection of its own to one node (PUBLISH reaches every node), moved to another node when that one
 * fails, so that a failover is seen rather than silently skipped.
 */
export class Subscriber extends EventEmitter<SubscriberEvents> {
  readonly #name: string;
  readonly #cluster: RedisClient | undefined;
  #client: Redis | undefined;
  /** The connection close() is quitting (disconnect() cuts it). */
  #quitting: Redis | undefined;
  #patterns = new Set<string>();
  #closed = false;
  #lost = false;
  #wasReady = false;
  #retry: NodeJS.Timeout | undefined;
  #delivered = 0;
  /** Why cut() cut the connection (said by the `lost` it causes). */
  #cutWhy: string | undefined;

  /** Opens the subscriber; `nodes` is a Cluster client to find nodes through (when `connection` is a Cluster). */
  constructor(connection: RedisConnection, connectionName: string, nodes: RedisClient) {
    super();
    this.#name = connectionName;
    if (isCluster(nodes)) {
      this.#cluster = nodes;
      return;
    }
    const client = openClient(connection, { connectionName }) as Redis;
    this.#watch(client, false);
  }

  /** Subscribes to more patterns; resolves once Redis confirmed (on a Cluster: once a node is chosen and confirmed). */
  async psubscribe(patterns: readonly string[]): Promise<void> {
    for (const pattern of patterns) this.#patterns.add(pattern);
    const client = await this.#connection();
    await this.#moved(client, patterns.length > 0 ? client.psubscribe(...patterns) : whenReady(client));
  }

  /** Unsubscribes from patterns. */
  async punsubscribe(patterns: readonly string[]): Promise<void> {
    for (const pattern of patterns) this.#patterns.delete(pattern);
    const client = await this.#connection();
    if (patterns.length > 0) await this.#moved(client, client.punsubscribe(...patterns));
  }

  // On a Cluster, a command that failed because its node connection ended (a node down, every node during
  // an outage) is made good by the move to another node, which subscribes `#patterns` as they are then.
  // Rejected, it broke off the link's change halfway: a pattern given up during an outage was never
  // PUNSUBSCRIBEd, and stayed subscribed on the next node for good (before r32).
  async #moved(client: Redis, command: Promise<unknown>): Promise<void> {
    try {
      await command;
    } catch (error) {
      if (this.#cluster !== undefined && !this.#closed && (client !== this.#client || client.status !== "ready")) return;
      throw error;
    }
  }

  /**
   * Closes the connection: QUIT, cut after `grace` ms without an answer (a hung Redis, connected but
   * answering nothing, held it for ever). The default is a backstop longer than RedisLink's own bound
   * (5 s + closeTimeout), so that the link cuts first and reports it.
   */
  async close(grace = SUBSCRIBER_CLOSE_GRACE): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    this.#quitting = client;
    if (client !== undefined) await closeClient(client, grace);
  }

  /** Messages delivered so far (a connection delivering is alive: see SubscriberLiveness). */
  get delivered(): number {
    return this.#delivered;
  }

  /** PINGs the subscribed connection (Redis takes PING in subscribe mode); undefined while it is not ready. */
  ping(): Promise<unknown> | undefined {
    const client = this.#client;
    if (this.#closed || client === undefined || client.status !== "ready") return undefined;
    return client.ping();
  }

  /**
   * Cuts the connection as broken (see SubscriberLiveness): `lost` is emitted saying `why`, and it connects
   * and subscribes again as after any loss.
   */
  cut(why: string): void {
    const client = this.#client;
    if (this.#closed || client === undefined) return;
    this.#cutWhy = why;
    client.stream?.destroy();
  }

  /** Cuts the connection at once (for a close that Redis does not answer). */
  disconnect(): void {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    (this.#client ?? this.#quitting)?.disconnect();
  }

  async #connection(): Promise<Redis> {
    if (this.#client === undefined) {
      const cluster = this.#cluster as RedisClient;
      await whenReady(cluster);
      if (this.#client === undefined) this.#client = this.#nodeClient();
    }
    return this.#client as Redis;
  }

  // A connection to one Cluster node (a ready one when there is one), which does not retry: on its end
  // the subscription moves to another node.
  #nodeClient(): Redis {
    const nodes = (this.#cluster as RedisClient & { nodes(): Redis[] }).nodes();
    const ready = nodes.filter((node) => node.status === "ready");
    const pool = ready.length > 0 ? ready : nodes;
    const node = pool[Math.floor(Math.random() * pool.length)];
    if (node === undefined) throw new Error("redis cluster: no node known to subscribe on");
    const { host, port, username, password, tls, disconnectTimeout } = node.options;
    if (host === undefined || port === undefined) throw new Error("redis cluster: a node without host and port");
    const client = new Redis({
      host,
      port,
      connectionName: this.#name,
      retryStrategy: () => null,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...(tls === undefined ? {} : { tls }),
      // The node's: berrymq's unless the Cluster's redisOptions give one (see disconnect-timeout.ts).
      ...(disconnectTimeout === undefined ? {} : { disconnectTimeout }),
    });
    this.#watch(client, true);
    return client;
  }

  #watch(client: Redis, moves: boolean): void {
    this.#client = client;
    // Through Sentinel, client.options holds no server address: the one connected to says where it was.
    let server = `${client.options.host}:${client.options.port}`;
    // The bytes: with no "pmessage" listener ioredis decodes neither channel nor message to strings.
    client.on("pmessageBuffer", (pattern: string, channel: Buffer, message: Buffer) => {
      this.#delivered++;
      this.emit("pmessage", pattern, channel, message);
    });
    client.on("error", () => {}); // a loss is reported once, as `lost`, from `close`
    client.on("close", () => {
      if (this.#closed || this.#client !== client) return;
      // Nothing was subscribed before the first ready: a failed first connection is not a loss (connect() rejects).
      if (!this.#lost && this.#wasReady) {
        this.#lost = true;
        this.emit("lost", new Error(`subscriber connection to ${server} ${this.#cutWhy ?? "closed"}`));
      }
      if (moves) this.#move(client, 50);
    });
    client.on("ready", () => {
      this.#wasReady = true;
      this.#cutWhy = undefined;
      const { remoteAddress, remotePort } = client.stream ?? {};
      if (remoteAddress !== undefined && remotePort !== undefined) server = `${remoteAddress}:${remotePort}`;
      if (moves || !this.#lost) return;
      this.#lost = false;
      this.emit("resubscribed");
    });
  }

  // Subscribes on another node (the Cluster notices the failed one and refreshes its node list meanwhile).
  #move(failed: Redis, delay: number): void {
    if (this.#retry !== undefined || this.#client !== failed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#closed) return;
      failed.disconnect();
      let client: Redis;
      try {
        client = this.#nodeClient();
      } catch {
        // No node known now (every node of the Cluster gone): the loss was reported; look again later.
        this.#move(failed, Math.min(delay * 2, 1_000));
        return;
      }
      const patterns = [...this.#patterns];
      (patterns.length > 0 ? client.psubscribe(...patterns) : whenReady(client)).then(
        () => {
          if (this.#client !== client || this.#closed) return;
          this.#lost = false;
          this.emit("resubscribed");
        },
        () => this.#move(client, Math.min(delay * 2, 1_000)),
      );
    }, delay);
  }
}
