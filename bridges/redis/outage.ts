import type { RedisClient } from "./connection.js";
import { RedisConnectionError } from "./errors.js";

/**
 * Reports connection loss of a group of clients once per outage: the first `error` while all were up is
 * reported, the retries that follow are not, until every client that failed is `ready` again. (ioredis
 * reconnects by itself and emits an `error` on every failed attempt.)
 */
export function reportOutages(who: string, clients: readonly RedisClient[], report: (error: RedisConnectionError) => void): void {
  const down = new Set<RedisClient>();
  for (const client of clients) {
    client.on("error", (error: Error) => {
      if (down.size === 0) report(new RedisConnectionError(who, error));
      down.add(client);
    });
    client.on("ready", () => void down.delete(client));
  }
}
