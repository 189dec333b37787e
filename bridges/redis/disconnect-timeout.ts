// ioredis's disconnect() ends a connection's socket and arms a ref'd timer, `disconnectTimeout`, that
// destroys it unless the socket closes first. A live server closes its side within a round trip; the timer
// runs out only on a socket already closed (a refused connection: no "close" to come) or one whose peer
// never closes (a stopped server the kernel still acknowledges), and then only holds the process: with
// ioredis's 2,000 ms a failed RedisLink.connect() left it running 2–4 s (before r29). ioredis documents
// disconnect() as closing at once, pending replies possibly lost, so nothing waits on that socket (but see
// promptDisconnect: the reconnections ioredis makes itself): 200 ms
// is still many round trips (and time to flush what was written before the end), and the worst case, a
// hung sentinel's lookup socket cut twice, stays under half a second.

/** berrymq's `disconnectTimeout` (ms) for every client it opens, unless the options give their own. */
export const DISCONNECT_TIMEOUT = 200;

// ioredis's default `disconnectTimeout`, which a client's `options` hold once it is made.
const IOREDIS_DISCONNECT_TIMEOUT = 2_000;

/**
 * `{ disconnectTimeout }` to add to the options of a client berrymq opens: none when `options` give their
 * own, or a `reconnectOnError` or `failoverDetector: true` (see below). `made`: the options of a client
 * already made, where ioredis's default stands for "none given".
 */
export function promptDisconnect(options: object | undefined, made = false): { disconnectTimeout?: number } {
  const { disconnectTimeout: given, reconnectOnError, failoverDetector } = (options ?? {}) as {
    disconnectTimeout?: unknown;
    reconnectOnError?: unknown;
    failoverDetector?: unknown;
  };
  // With these ioredis itself ends a live connection to reconnect (reconnectOnError's disconnect(true), a
  // detected failover) and sends again every command still unanswered when the socket closes: a server
  // slower than the timer to answer them (a long script, a fork, DEBUG SLEEP) ran them twice (an INCR
  // counted twice, a PUBLISH delivered twice) with 200 ms where ioredis's 2,000 waited for the answers
  // (r29 review): ioredis's own timer is kept.
  if (typeof reconnectOnError === "function" || failoverDetector === true) return {};
  if (given === undefined || (made && given === IOREDIS_DISCONNECT_TIMEOUT)) return { disconnectTimeout: DISCONNECT_TIMEOUT };
  return {};
}
