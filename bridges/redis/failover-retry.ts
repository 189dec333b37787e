import { pause } from "./replicated-script.js";

// Server replies that refuse a write for as long as a failover lasts. Not ioredis's own errors for a
// closed connection: without durability ioredis already resends a call after a reconnection, and Redis
// also closes the connection on a payload it refuses (over proto-max-bulk-len), which must fail alone.
// (Cluster redirections and CLUSTERDOWN are retried by the Cluster client itself.)
// UNBLOCKED: a blocked command ended because its master was made a replica.
const REFUSED_DURING_FAILOVER = /^(NOREPLICAS|READONLY|MASTERDOWN|LOADING)\b|^UNBLOCKED force unblock/;

/**
 * How long (ms) a write refused as during a failover is sent again before it fails as it came: longer than a
 * planned Sentinel failover takes (the old master refuses writes until the sentinels make it a replica, 4
 * hello periods: 8 s by default) and than a promoted master waits for a replica.
 */
export const FAILOVER_RETRY_LIMIT = 30_000;

/** Whether `error` is a server's refusal that lasts only as long as a failover. */
export function isRefusedDuringFailover(error: unknown): boolean {
  return error instanceof Error && REFUSED_DURING_FAILOVER.test(error.message);
}

/**
 * Runs `call` again, every 100 ms, while Redis refuses it for as long as a failover lasts (`NOREPLICAS`,
 * `READONLY`, `MASTERDOWN`, `LOADING`, `UNBLOCKED`), `wanted()` holds and `limit` ms have not passed; any other error, or one once `wanted()`
 * turned false, rejects as it came. For idempotent calls only (berrymq's scripts: Redis refuses them
 * before their first write; a resent SEND finds its record, a resent push its seen-marker).
 *
 * Why: a planned Sentinel failover (`SENTINEL FAILOVER`) leaves the old master taking writes until the
 * sentinels turn it into a replica (4 hello periods: 8 s by default), and all of them are lost when it
 * resyncs. Servers fenced with `min-replicas-to-write 1` refuse them with `NOREPLICAS` instead, as the
 * promoted master does until it has a replica again; without this, each such write was rejected (r32:
 * 5,060 of 5,780 durable sends, 3,870 of 4,770 queue pushes).
 */
export async function retryThroughFailover<T>(
  call: () => Promise<T>,
  wanted: () => boolean,
  limit = FAILOVER_RETRY_LIMIT,
): Promise<T> {
  const giveUpAt = performance.now() + limit;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      // Past `limit` it is no failover: a client pointed at a replica by mistake (READONLY for good) fails,
      // named, rather than wait for ever (a queue's push) or until its channel ends.
      if (!isRefusedDuringFailover(error) || !wanted() || performance.now() >= giveUpAt) throw error;
      await pause();
    }
  }
}
