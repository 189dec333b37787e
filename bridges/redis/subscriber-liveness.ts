/**
 * How often a RedisLink PINGs its pattern subscriber connection, in ms. A subscriber only reads: a connection
 * that died without a TCP close (a host or NAT gone, a firewall dropping it) looked subscribed for as long as
 * the kernel kept it (hours), every message published meanwhile missed without a report.
 */
export const SUBSCRIBER_PING_INTERVAL = 5_000;
/**
 * A PING unanswered this long (ms) cuts the subscriber connection as broken: it is reported
 * (`REDIS_MESSAGES_MAY_BE_LOST`), connects again and subscribes again. A Redis that holds every command
 * that long (a long script, `CLIENT PAUSE ALL`) is cut too, and reported, though it lost nothing.
 */
export const SUBSCRIBER_PING_TIMEOUT = 5_000;

/** The connection watched: its PING (undefined while it is not connected), and how to cut it. */
export interface Pingable {
  ping(): Promise<unknown> | undefined;
  /** A count that grows with every message the connection delivers: a connection delivering is alive. */
  readonly delivered: number;
  cut(why: string): void;
}

/**
 * PINGs a subscriber connection every {@link SUBSCRIBER_PING_INTERVAL} ms (one PING at a time) and cuts it
 * when one goes unanswered for {@link SUBSCRIBER_PING_TIMEOUT} ms: a dead connection is noticed within their
 * sum.
 */
export class SubscriberLiveness {
  readonly #target: Pingable;
  readonly #interval: number;
  readonly #timeout: number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(target: Pingable, interval = SUBSCRIBER_PING_INTERVAL, timeout = SUBSCRIBER_PING_TIMEOUT) {
    this.#target = target;
    this.#interval = interval;
    this.#timeout = timeout;
    this.#arm();
  }

  /** Stops the PINGs (the link closes). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #arm(): void {
    if (this.#stopped) return;
    // The subscriber holds the process while subscribed; its watch does not.
    this.#timer = setTimeout(() => this.#ping(), this.#interval).unref();
  }

  #ping(): void {
    const answered = this.#target.ping();
    if (answered === undefined) {
      this.#arm();
      return;
    }
    let settled = false;
    let late: NodeJS.Timeout | undefined;
    // Its answer waits behind the messages Redis sends first: while they come, the connection is alive.
    const wait = (delivered: number): void => {
      late = setTimeout(() => {
        // After the poll phase: an event loop held longer than the timeout (a slow follower) reads the
        // answer, or messages, that wait in the socket before the connection is judged.
        setImmediate(() => {
          if (settled || this.#stopped) return;
          if (this.#target.delivered !== delivered) wait(this.#target.delivered);
          else this.#target.cut(`answered no PING within ${this.#timeout} ms`);
        });
      }, this.#timeout).unref();
    };
    wait(this.#target.delivered);
    // Answered, or failed (the connection closed: it reconnects by itself): the next PING in an interval.
    void answered
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        settled = true;
        clearTimeout(late);
        this.#arm();
      });
  }
}
