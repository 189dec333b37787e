import type { Cluster } from "ioredis";

/** How long a link's wildcard registration lives without being renewed, in ms. */
const LEASE = 30_000;
/** How often a registered link renews its registration, in ms. */
const RENEW = 10_000;
/** How often a publisher reads the registry again, besides when told of a change, in ms. */
const RECHECK = 5_000;

/**
 * Which links of a prefix on a Redis Cluster have wildcard import filters, so that publishers PUBLISH
 * (broadcast to every node, where PSUBSCRIBE sees it) only while one exists, and SPUBLISH alone otherwise.
 * The registry is a sorted set `<prefix>berrymq-wildcards` (member: link, score: lease end in ms, one
 * entry per live link, renewed every 10 s, gone 30 s after its link died); changes are announced on the
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
      present = (await this.#client.zcount(this.key, Date.now(), "+inf")) > 0;
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

  /** Stops the timers and removes this link's registration (best effort: it expires anyway). */
  async close(): Promise<void> {
    clearInterval(this.#recheck);
    if (this.#registered) await this.register(false).catch(() => {});
  }

  async #renewNow(announce: boolean): Promise<void> {
    const now = Date.now();
    const added = await this.#client.zadd(this.key, now + LEASE, this.#member);
    await this.#client.zremrangebyscore(this.key, "-inf", now);
    // A registration that had expired (Redis unreachable for a lease) is announced again.
    if (announce || Number(added) > 0) await this.#client.spublish(this.key, "+");
  }
}
