import type { Cluster } from "ioredis";
import { defineScripts, runScript } from "./connection.js";

/** How long a link's wildcard registration lives without being renewed, in ms. */
const LEASE = 30_000;
/** How often a registered link renews its registration, in ms. */
const RENEW = 10_000;
/** How often a publisher reads the registry again, besides when told of a change, in ms. */
const RECHECK = 5_000;

// Leases run on Redis's clock (TIME), never a host's: a publisher whose clock ran a lease (30 s) ahead of
// a registered link's took every registration for expired and SPUBLISHed only, so that link's wildcard
// filters (PSUBSCRIBE) got nothing, without a word (before r27).
const NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";
const SCRIPTS = {
  // KEYS: the registry; ARGV: member, lease (ms). Returns 1 when the member was not registered (any more).
  berrymqWildcardRenew: {
    lua: `${NOW}
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return added`,
    keys: 1,
  },
  // KEYS: the registry. Returns how many registrations are live.
  berrymqWildcardCount: { lua: `${NOW}\nreturn redis.call('ZCOUNT', KEYS[1], now, '+inf')`, keys: 1 },
};

/**
 * Which links of a prefix on a Redis Cluster have wildcard import filters, so that publishers PUBLISH
 * (broadcast to every node, where PSUBSCRIBE sees it) only while one exists, and SPUBLISH alone otherwise.
 * The registry is a sorted set `<prefix>berrymq-wildcards` (member: link, score: lease end in ms, one
 * entry per live link, renewed every 10 s, gone 30 s after its link died, by Redis's clock); changes are announced on the
 * sharded channel of the same name, which every publisher SSUBSCRIBEs. Until a publisher has read it, or
 * while it cannot, it assumes there are wildcard listeners (it publishes both ways: nothing is missed).
 */
export class WildcardRegistry {
  /** The key and the sharded channel that announces changes. */
  readonly key: string;
  readonly #client: Cluster;
  readonly #member: string;
  #present = true;
  #checked = 0;
  #registered = false;
  #renew: NodeJS.Timeout | undefined;
  readonly #recheck: NodeJS.Timeout;

  /** `client` runs the commands; `member` names this link in the registry. */
  constructor(client: Cluster, prefix: string, member: string) {
    this.key = `${prefix}berrymq-wildcards`;
    this.#client = client;
    this.#member = member;
    defineScripts(client, SCRIPTS);
    this.#recheck = setInterval(() => void this.check(), RECHECK);
    this.#recheck.unref();
  }

  /** Whether some link of the prefix may have wildcard filters (true until known otherwise). */
  get present(): boolean {
    return this.#present;
  }

  /** Reads the registry again (on an announcement, a resubscription, and every 5 s). */
  async check(): Promise<void> {
    const started = ++this.#checked;
    let present = true;
    try {
      present = Number(await runScript(this.#client, "berrymqWildcardCount", [this.key])) > 0;
    } catch {
      present = true;
    }
    // A later check (started after a later announcement) wins over an earlier one still in flight.
    if (started === this.#checked) this.#present = present || this.#registered;
  }

  /** Registers this link (it has wildcard filters) or removes it, and tells every publisher. */
  async register(active: boolean): Promise<void> {
    if (active === this.#registered) return;
    this.#registered = active;
    if (active) {
      this.#present = true;
      await this.#renewNow(true);
      this.#renew = setInterval(() => void this.#renewNow(false).catch(() => {}), RENEW);
      this.#renew.unref();
      return;
    }
    if (this.#renew !== undefined) clearInterval(this.#renew);
    this.#renew = undefined;
    await this.#client.zrem(this.key, this.#member);
    await this.#client.spublish(this.key, "-");
  }

  /**
   * After an outage of the subscriber connections: renews this link's registration at once (announced if
   * Redis lost it: a Cluster started again without its data, a failover to a replica that lacked it), then
   * reads the registry again. Before r32 only the next renewal (up to 10 s later) registered it again, and
   * meanwhile publishers that read the empty registry SPUBLISHed only: its wildcard filters got nothing.
   */
  async recover(): Promise<void> {
    if (this.#registered) await this.#renewNow(false).catch(() => {});
    await this.check();
  }

  /** Stops the timers and removes this link's registration (best effort: it expires anyway). */
  async close(): Promise<void> {
    clearInterval(this.#recheck);
    if (this.#registered) await this.register(false).catch(() => {});
  }

  async #renewNow(announce: boolean): Promise<void> {
    const added = await runScript(this.#client, "berrymqWildcardRenew", [this.key, this.#member, LEASE]);
    // A registration that had expired (Redis unreachable for a lease) is announced again.
    if (announce || Number(added) > 0) await this.#client.spublish(this.key, "+");
  }
}
