import { InvalidArgumentError } from "../../lib/errors.js";
import { checkDuration } from "../../lib/long-timer.js";
import type { Cluster } from "ioredis";
import { isCluster, type RedisClient } from "./connection.js";

/**
 * How many replicas must have a write before it is acknowledged (Redis `WAIT`), and for how long to wait
 * for them, in ms (`Infinity`: as long as it takes).
 */
export interface Durability {
  replicas: number;
  timeout: number;
}

/** What a script run with {@link runScriptReplicated} answered, and how many replicas confirmed its writes. */
export interface ReplicatedResult {
  result: unknown;
  replicas: number;
}

/** What {@link runScriptReplicated} needs to know of its caller. */
export interface ReplicationWatch {
  /** Counts every close of a connection the client uses (on a Cluster: of each node's). */
  epoch(): number;
  /** Throws (e.g. ChannelEndedError) when trying again is pointless because the caller stopped. */
  checkStillWanted(): void;
}

// Pause between two attempts while a master fails over, in ms (as the Cluster client's own retries).
const RETRY_PAUSE = 100;

// Replies that mean "this node cannot run it now, another one will soon" (a failover in progress: also a
// blocked command or WAIT ended because its master was made a replica, and a WAIT sent to a master made
// a replica before the client learned of it), and ioredis's errors for a connection lost under a call
// (a pipeline answered in part is aborted, not resent).
const FAILOVER_REPLIES =
  /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|READONLY|MASTERDOWN|NOREPLICAS)\b|^UNBLOCKED force unblock|^ERR WAIT cannot be used with replica|^Connection is closed|^Command aborted due to connection close|^Node is disconnected|^Too many Cluster redirections|^Cluster isn't ready|^Stream isn't writeable/;

/** Whether `error` is one a failover causes (the call can be made again on the promoted master). */
export function isFailoverError(error: unknown): boolean {
  return error instanceof Error && FAILOVER_REPLIES.test(error.message);
}

/** Checks a durability option; `undefined` stays undefined. @throws InvalidArgumentError naming the bad value. */
export function checkDurability(argument: string, durability: Durability | undefined): Durability | undefined {
  if (durability === undefined) return undefined;
  if (typeof durability !== "object" || durability === null || !Number.isInteger(durability.replicas) || durability.replicas < 0) {
    throw new InvalidArgumentError(
      argument,
      durability,
      "{ replicas: an integer >= 0, timeout: ms (Infinity: wait as long as it takes) }",
    );
  }
  checkDuration(`${argument}.timeout`, durability.timeout);
  return durability;
}

/**
 * Runs scripts (defined on its client) followed by `WAIT replicas timeout` on the same connection (one
 * pipeline: on a Cluster both go to the master serving the script's key), so that each answer comes once
 * `replicas` replicas have every write of that connection, the script's included.
 *
 * A failover breaks the pair in ways ioredis does not repair: a Cluster pipeline whose script was answered
 * and whose WAIT failed is not retried (it is rejected), and a WAIT resent alone on a new connection
 * counts replicas of nothing this connection wrote. So the pair is sent again, whole, whenever a
 * connection closed while it was on its way or either part failed with a failover error; the scripts
 * run this way are idempotent (a resent call finds its own record and writes a marker, so that WAIT has
 * a write of its own connection to count). Other errors (the script's own, a payload Redis refuses)
 * reject at once.
 *
 * A master with fewer replicas than asked (right after a failover, before the old master is back as a
 * replica) would make every call wait the whole timeout, one after the other: once a WAIT came back
 * short, calls send ROLE instead of WAIT (answering at once with `replicas: 0`) until ROLE lists enough
 * replicas again. After a connection closed (a failover, perhaps), the next call asks ROLE first too, and
 * sends the pair again with WAIT only when the master lists enough replicas: the first call on a promoted
 * master does not wait out its timeout for a replica it cannot have. A call with timeout Infinity always
 * sends WAIT: it answers once its replicas have its writes, or when it is cut short at the channel's end.
 */
export class ReplicatedScripts {
  readonly #client: RedisClient;
  readonly #watch: ReplicationWatch;
  /** Replicas the master listed when a WAIT last came back short (Infinity: WAIT as asked). */
  #short = Number.POSITIVE_INFINITY;
  /** Calls on their way. */
  #running = 0;
  /** Calls on their way whose timeout is Infinity (they wait for their replicas, however long). */
  #patient = 0;
  /** Fails each call on its way (see {@link end}). */
  readonly #callers = new Set<(error: Error) => void>();
  /** Why calls fail, once {@link end} was called. */
  #ended: Error | undefined;
  /** The connection closes counted when ROLE last answered (a close since: ROLE first). */
  #checked = 0;

  constructor(client: RedisClient, watch: ReplicationWatch) {
    this.#client = client;
    this.#watch = watch;
  }

  /** Whether calls are on their way (their WAIT may be blocked). */
  get busy(): boolean {
    return this.#running > 0;
  }

  /** How many calls are on their way. */
  get pending(): number {
    return this.#running;
  }

  /** Whether a call with timeout Infinity is on its way: its WAIT must not be cut short but at the end. */
  get patient(): boolean {
    return this.#patient > 0;
  }

  /** Runs script `name` with `args`, answering once `durability.replicas` replicas have its writes (or the wait timed out). */
  async run(name: string, args: readonly (string | number)[], durability: Durability): Promise<ReplicatedResult> {
    if (this.#ended !== undefined) throw this.#ended;
    const patient = durability.timeout === Number.POSITIVE_INFINITY;
    let fail: (error: Error) => void = () => {};
    const ended = new Promise<never>((_, reject) => {
      fail = reject;
    });
    this.#callers.add(fail);
    this.#running++;
    if (patient) this.#patient++;
    try {
      return await Promise.race([this.#run(name, args, durability), ended]);
    } finally {
      this.#callers.delete(fail);
      this.#running--;
      if (patient) this.#patient--;
    }
  }

  /**
   * Fails every call still on its way with `error`, and every later one: their connection is closing, and
   * ioredis keeps a command it could not send for a reconnection that will not come (it would never settle).
   */
  end(error: Error): void {
    this.#ended = error;
    for (const fail of this.#callers) fail(error);
    this.#callers.clear();
  }

  async #run(name: string, args: readonly (string | number)[], durability: Durability): Promise<ReplicatedResult> {
    const patient = durability.timeout === Number.POSITIVE_INFINITY;
    const timeout = patient ? 0 : Math.max(1, Math.ceil(durability.timeout));
    let again = false;
    for (let attempt = 0; ; attempt++) {
      // The first attempt goes out even when the caller stops meanwhile (a call made before it stopped);
      // a call sent again because ROLE listed enough replicas goes at once.
      if (attempt > 0 && !again) {
        await pause();
        this.#watch.checkStillWanted();
      }
      again = false;
      const epoch = this.#watch.epoch();
      // A call with timeout Infinity waits for its replicas however few the master lists now.
      const waits = (patient || this.#short >= durability.replicas) && this.#checked === epoch;
      const pipeline = this.#client.pipeline() as unknown as Record<string, (...values: (string | number)[]) => unknown> & {
        wait(replicas: number, timeout: number): unknown;
        role(): unknown;
        exec(): Promise<[Error | null, unknown][] | null>;
      };
      const script = pipeline[name];
      if (script === undefined) throw new Error(`script ${name} was not defined on this client`);
      script.apply(pipeline, args as (string | number)[]);
      if (waits) pipeline.wait(durability.replicas, timeout);
      else pipeline.role();
      let results: [Error | null, unknown][] | null;
      try {
        results = await pipeline.exec();
      } catch (error) {
        if (isFailoverError(error)) continue;
        throw error;
      }
      const [[scriptError, result] = [null, undefined], [checkError, check] = [null, undefined]] = results ?? [];
      if (scriptError !== null && !isFailoverError(scriptError)) throw scriptError;
      if (checkError !== null && !isFailoverError(checkError)) throw checkError;
      if (results === null || scriptError !== null || checkError !== null) {
        // A Cluster follows MOVED for a pipeline only when every reply in it is one: with the WAIT refused
        // by the master made a replica (a planned failover), it would send the pair there again forever.
        if (isCluster(this.#client) && [scriptError, checkError].some((error) => MOVED_OR_REPLICA.test(error?.message ?? "")))
          await refreshSlots(this.#client);
        continue;
      }
      // What the master said of its replicas holds whichever connection it came on.
      let replicas = 0;
      if (waits) {
        replicas = Number(check);
        this.#short = replicas < durability.replicas ? replicas : Number.POSITIVE_INFINITY;
      } else {
        // ROLE of a master: ["master", offset, [[host, port, offset], ...]], one entry per connected replica.
        const listed = Array.isArray(check) && Array.isArray(check[2]) ? check[2].length : 0;
        this.#short = listed >= durability.replicas ? Number.POSITIVE_INFINITY : listed;
        if (this.#watch.epoch() === epoch) this.#checked = epoch;
        // Enough replicas (or a call that waits for them anyway): the pair again, now with WAIT (the
        // script finds its work done and marks it).
        if (listed >= durability.replicas || patient) {
          again = true;
          continue;
        }
      }
      // ioredis resends a pipeline whole or aborts it, so both parts ran on one connection; the count is
      // only trusted, still, when no connection closed meanwhile.
      if (this.#watch.epoch() === epoch) return { result, replicas };
    }
  }
}

// Replies that say the slot is served by another node now (or this node is a replica now).
const MOVED_OR_REPLICA = /^(MOVED|ASK)\b|^ERR WAIT cannot be used with replica/;

/** Resolves once the Cluster client read again which node serves which slot (or failed to). */
function refreshSlots(cluster: Cluster): Promise<void> {
  return new Promise((resolve) => cluster.refreshSlotsCache(() => resolve()));
}

/** Waits the pause between two attempts while a master fails over. */
export function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE));
}
