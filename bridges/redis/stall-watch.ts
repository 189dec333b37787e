import type { BerryError } from "../../lib/errors.js";
import { isCluster, type RedisClient } from "./connection.js";
import { RedisCommandError } from "./errors.js";

/**
 * How long calls may wait unanswered on live connections before it is reported (once), in ms: a Cluster
 * slot being migrated (or left half-migrated) answers TRYAGAIN, which ioredis retries for as long as it
 * comes, so every call on it waits, as through an outage, with no other sign.
 */
export const STALL = 10_000;
// How often a stall is looked at again while a connection is down (an outage is reported as such), in ms.
const RECHECK = 1_000;

/**
 * Watches the calls of a durable channel or a Redis queue for a stall: when none has been answered for
 * {@link STALL} ms while some wait and every connection is up (on a Cluster, every master's it opened), it reports
 * once a RedisCommandError saying so (`what` failed; `slotOf` names the keys whose slot may be migrating),
 * and again only after an answer came.
 */
export class StallWatch {
  readonly #client: RedisClient;
  readonly #what: string;
  readonly #slotOf: string;
  readonly #waiting: string;
  readonly #report: (error: BerryError) => void;
  /** Since when calls wait with no answer (performance.now() ms); undefined while none waits. */
  #since: number | undefined;
  #reported = false;
  /** Set by stop(): answers still coming (a queue closing waits for its pushes) start no clock again. */
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  /** `waiting`: what waits meanwhile, as the report says it ("calls", "pushes"). */
  constructor(client: RedisClient, what: string, slotOf: string, waiting: string, report: (error: BerryError) => void) {
    this.#client = client;
    this.#what = what;
    this.#slotOf = slotOf;
    this.#waiting = waiting;
    this.#report = report;
  }

  /** A call went out: the clock starts if none was waiting. */
  waiting(): void {
    if (this.#since !== undefined || this.#stopped) return;
    this.#since = performance.now();
    this.#arm(STALL);
  }

  /** A call was answered: the clock starts again while `more` wait, else stops; a new stall is reported again. */
  answered(more: boolean): void {
    this.#reported = false;
    this.#since = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (more) this.waiting();
  }

  /** Stops watching (the channel or queue closes). */
  stop(): void {
    this.#stopped = true;
    this.answered(false);
  }

  #arm(delay: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#check(), delay);
    // The calls waiting hold the process; the watch does not.
    this.#timer.unref();
  }

  #check(): void {
    this.#timer = undefined;
    if (this.#since === undefined || this.#reported) return;
    const left = STALL - (performance.now() - this.#since);
    const client = this.#client;
    // A Cluster node in "wait" was never connected (ioredis opens a node's connection on its first command:
    // a queue or channel uses one slot), not down: before the r28 review it held off the report for ever.
    const up =
      client.status === "ready" &&
      !(isCluster(client) && client.nodes("master").some((node) => node.status !== "ready" && node.status !== "wait"));
    if (left > 0 || !up) {
      this.#arm(left > 0 ? left : RECHECK);
      return;
    }
    this.#reported = true;
    const why = `no answer in ${STALL} ms on a live connection (on a Cluster: the slot of ${this.#slotOf} being migrated, or left half-migrated; else Redis hung); ${this.#waiting} wait`;
    this.#report(new RedisCommandError(this.#what, new Error(why)));
  }
}
