import type { Redis } from "ioredis";
import { closeClient, isCluster, type RedisClient } from "./connection.js";
import { hashSlot } from "./hash-slot.js";

/** Longest single blocking command, in ms: bounds how long ending takes where CLIENT UNBLOCK cannot reach. */
export const BLOCK_SLICE = 1_000;

/**
 * The connection a command on `key` goes out on: the client itself, or on a Cluster the connection to
 * the master that serves the key's slot now (`undefined` before the slots are known).
 */
export function connectionFor(client: RedisClient, key: string): Redis | undefined {
  if (!isCluster(client)) return client;
  const node = client.slots[hashSlot(key)]?.[0];
  if (node === undefined) return undefined;
  return client.nodes("master").find((redis) => `${redis.options.host}:${redis.options.port}` === node);
}

/**
 * A connection of its own for blocking commands (BLMOVE, BLPOP), which hold their socket until they
 * return. `unblock()` ends a wait at once (CLIENT UNBLOCK, sent only to the node that serves the key: the
 * command returns as if timed out), so that nothing a blocked command moves is lost when its owner stops.
 */
export class BlockingClient {
  readonly #client: RedisClient;
  readonly #control: RedisClient;
  /** CLIENT ID of each connection blocking commands went out on (one per Cluster master). */
  readonly #ids = new WeakMap<Redis, number>();
  /** Connections whose CLIENT ID is on its way (asked once, however many commands start meanwhile). */
  readonly #fetching = new WeakSet<Redis>();
  /** The connection and key of the blocking command in progress. */
  #blocked: { connection: Redis; key: string } | undefined;
  #waiting = 0;

  constructor(client: RedisClient, control: RedisClient) {
    this.#client = client;
    this.#control = control;
  }

  /** Runs one blocking command on `key`; the connection's id is fetched first (once per connection) so that `unblock` can reach it. */
  async run<T>(key: string, command: (client: RedisClient) => Promise<T>): Promise<T> {
    this.#waiting++;
    try {
      const connection = connectionFor(this.#client, key);
      if (connection === undefined) return await command(this.#client);
      this.#blocked = { connection, key };
      if (!this.#ids.has(connection) && !this.#fetching.has(connection)) {
        this.#fetching.add(connection);
        // Sent ahead of the command on the same connection, so it names the connection that blocks.
        const id = connection.client("ID");
        const result = command(this.#client);
        // Heard now: when the id fails (its connection cut by a close() Redis did not answer), the
        // command fails with it unawaited, an unhandled rejection that crashed the process (r31).
        result.catch(() => {});
        const known = Number(await id.finally(() => this.#fetching.delete(connection)));
        this.#ids.set(connection, known);
        // A reconnection is a new connection with a new id.
        connection.once("close", () => {
          if (this.#ids.get(connection) === known) this.#ids.delete(connection);
        });
        return await result;
      }
      return await command(this.#client);
    } finally {
      this.#waiting--;
      if (this.#waiting === 0) this.#blocked = undefined;
    }
  }

  /** Makes a blocked command return now (with no result). */
  async unblock(): Promise<void> {
    const blocked = this.#blocked;
    if (this.#waiting === 0 || blocked === undefined) return;
    const id = this.#ids.get(blocked.connection);
    const control = connectionFor(this.#control, blocked.key);
    if (id === undefined || control === undefined) return;
    try {
      await control.client("UNBLOCK", id);
    } catch {
      // The connection is gone already: the blocked command ended with it.
    }
  }

  /** Closes the connection (after `unblock`, so nothing is in flight). */
  close(): Promise<void> {
    return closeClient(this.#client);
  }

  /** Cuts the connection at once (what is in flight fails). */
  disconnect(): void {
    this.#client.disconnect();
  }
}
