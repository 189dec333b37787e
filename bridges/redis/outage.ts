import type { Redis } from "ioredis";
import type { BerryError } from "../../lib/errors.js";
import { isCluster, type RedisClient } from "./connection.js";
import { RedisConnectionError } from "./errors.js";

// The error ioredis emits when a pass over its sentinel list found no master and it will pass again. Not
// "... and retry is disabled" (sentinelRetryStrategy gave no delay): the client ends there, an outage
// even after a pass that asked no sentinel.
const SENTINEL_PASS = /^All sentinels are unreachable\. Retrying/;

/**
 * Reports connection loss of a group of clients once per outage: the first failure while all were up is
 * reported, the retries that follow are not, until every client (or Cluster node) that failed is back.
 * ioredis reconnects by itself and emits an `error` on every failed attempt; a Cluster instead emits
 * `node error` per node, and a failed master counts as back once the Cluster no longer routes to it
 * (its replica was promoted) or it answers again. Returns a function that adds a client to the group.
 */
export function reportOutages(
  who: string,
  clients: readonly RedisClient[],
  report: (error: BerryError) => void,
  describe: (who: string, cause: Error) => BerryError = (name, cause) => new RedisConnectionError(name, cause),
): (client: RedisClient) => void {
  const down = new Set<string>();
  // Whether this outage was reported; it ends once every client that went down is back.
  let reported = false;
  const fail = (what: string, error: Error): void => {
    if (!reported) report(describe(who, error));
    reported = true;
    down.add(what);
  };
  const back = (what: string): void => {
    down.delete(what);
    if (down.size === 0) reported = false;
  };
  let count = 0;
  // Watches one more client of the group (a connection opened later belongs to the same outages).
  const watch = (client: RedisClient): void => {
    const index = count++;
    // Sentinels asked in this pass over ioredis's sentinel list (see the "error" listener).
    let asked = 0;
    // A closed connection counts as down before its first failed attempt: else a client back on the
    // promoted master could end the outage before another one's first attempt fails, which then looked
    // like a second outage (seen in CI on a Sentinel failover: two reports for one SIGKILL).
    client.on("close", () => {
      down.add(String(index));
      asked = 0;
    });
    // ioredis's Sentinel connector walks its sentinel list on from where its last lookup stopped: a
    // reconnection that starts at the end of the list emits "All sentinels are unreachable" before
    // asking any, then starts over (and connects). A failure is only counted when a sentinel was asked
    // (each one that gives no master emits `sentinelError` first): else a connection the server closed
    // and that came back at once was a second outage (seen 12 s after a Sentinel failover, at the time
    // the sentinels turn the restarted old master into a replica). Counted per reconnection and per pass.
    client.on("sentinelError", () => void asked++);
    client.on("error", (error: Error) => {
      if (SENTINEL_PASS.test(error.message)) {
        const empty = asked === 0;
        asked = 0;
        if (empty) return;
      }
      fail(String(index), error);
    });
    client.on("ready", () => back(String(index)));
    if (!isCluster(client)) return;
    client.on("node error", (error: Error, node: string) => {
      if (client.status === "ready") fail(`${index}/${node}`, error);
    });
    const settle = (): void => {
      for (const what of down) {
        const [at, node] = what.split("/", 2);
        if (at !== String(index) || node === undefined) continue;
        const served = client.slots.some((owners) => owners?.[0] === node);
        const answering = client
          .nodes()
          .some((redis) => `${redis.options.host}:${redis.options.port}` === node && redis.status === "ready");
        if (!served || answering) back(what);
      }
    };
    client.on("-node", settle);
    client.on("refresh", settle);
    client.on("+node", (redis: Redis) => {
      redis.once("ready", settle);
      settle();
    });
  };
  for (const client of clients) watch(client);
  return watch;
}
