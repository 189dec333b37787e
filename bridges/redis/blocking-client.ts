import { closeClient, type RedisClient } from "./connection.js";

/** Longest single blocking command, in ms: bounds how long ending takes where CLIENT UNBLOCK cannot reach. */
export const BLOCK_SLICE = 1_000;

/**
 * A connection of its own for blocking commands (BLMOVE, BLPOP), which hold their socket until they
 * return. `unblock()` ends a wait at once (CLIENT UNBLOCK: the command returns as if timed out), so that
 * nothing a blocked command moves is lost when its owner stops.
 */
export class BlockingClient {
  readonly #client: RedisClient;
  readonly #control: RedisClient;
  #clientId: number | undefined;
  #waiting = 0;

  constructor(client: RedisClient, control: RedisClient) {
    this.#client = client;
    this.#control = control;
    // A reconnection is a new connection with a new id.
    client.on("close", () => {
      this.#clientId = undefined;
    });
  }

  /** Runs one blocking command; the connection's id is fetched first (once per connection) so that `unblock` can reach it. */
  async run<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    this.#waiting++;
    try {
      if (this.#clientId === undefined) {
        const id = this.#client.client("ID");
        const result = command(this.#client);
        this.#clientId = Number(await id);
        return await result;
      }
      return await command(this.#client);
    } finally {
      this.#waiting--;
    }
  }

  /** Makes a blocked command return now (with no result). */
  async unblock(): Promise<void> {
    if (this.#waiting === 0 || this.#clientId === undefined) return;
    try {
      await this.#control.client("UNBLOCK", this.#clientId);
    } catch {
      // The connection is gone already: the blocked command ended with it.
    }
  }

  /** Closes the connection (after `unblock`, so nothing is in flight). */
  close(): Promise<void> {
    return closeClient(this.#client);
  }
}
