import { type NatMap, Redis, type SentinelAddress, SentinelConnector, type SentinelConnectionOptions } from "ioredis";
import { DISCONNECT_TIMEOUT } from "./disconnect-timeout.js";

/** A data node's address as a sentinel names it (after `natMap`). */
interface Address {
  host: string;
  port: number;
}

// ioredis's SentinelConnector asks its sentinels one by one and connects to the first master address one
// names (`resolve`, TypeScript-private in ioredis 6, called per sentinel by `connect`). That is the seam:
// a lookup that throws makes ioredis count that sentinel as failed and ask the next one.
interface Resolving {
  resolve(endpoint: Partial<SentinelAddress>): Promise<Address | null>;
  /** Opens the connection a lookup (or the failover detector) asks a sentinel through (TypeScript-private). */
  connectToSentinel?: (endpoint: Partial<SentinelAddress>, options?: unknown) => Redis;
}

/** A connection to a sentinel on its way: closed by disconnect(). */
type Asking = Pick<Redis, "disconnect">;

// ioredis's own default when no connectTimeout is given, in ms.
const CONNECT_TIMEOUT = 10_000;

/**
 * A Sentinel connector that connects only to a master that a majority of the listed sentinels name.
 * ioredis takes the first sentinel's answer, and checks only that the server says it is a master: a
 * crashed master restarted answers so until the sentinels turn it into a replica (~10 s), and a
 * sentinel out of date (it was down or cut off during the failover) sends clients there. Writes made
 * there are acknowledged, then lost when it resyncs from the promoted replica.
 */
export class MajoritySentinelConnector extends SentinelConnector {
  /**
   * The connections to sentinels asking on its way (ioredis's lookup, the majority check), closed by
   * disconnect(): a sentinel that accepts connections and answers nothing (stopped) held ioredis's lookup
   * for ever (no command timeout unless `sentinelCommandTimeout`), and a client closed meanwhile (a
   * `RedisLink.connect()` past its `connectTimeout`) left those sockets open: the process never exited
   * (before the r28 review).
   */
  readonly #asking = new Set<Asking>();

  // ioredis passes the client's options (RedisOptions, which include the Sentinel ones).
  constructor(options: unknown) {
    super(options as SentinelConnectionOptions);
    const self = this as unknown as Resolving;
    // Without the seam the check would be skipped without a word: refuse instead of connecting unconfirmed.
    if (typeof self.resolve !== "function")
      throw new Error(
        "berrymq: this ioredis has no SentinelConnector.resolve, which the Sentinel master check needs (ioredis 6)",
      );
    const resolve = self.resolve.bind(this);
    // An own property ahead of the prototype's method: `connect` calls this one.
    self.resolve = async (endpoint) => {
      const address = await resolve(endpoint);
      if (address === null || this.options.role === "slave") return address;
      await confirmMaster(this.options, address, (client) => this.#track(client));
      return address;
    };
    if (typeof self.connectToSentinel === "function") {
      const connectToSentinel = self.connectToSentinel.bind(this);
      self.connectToSentinel = (endpoint, more) => {
        // ioredis gives a sentinel connection only a few of the client's options: its `disconnectTimeout`
        // too (berrymq's unless the user gave one, see disconnect-timeout.ts).
        const disconnectTimeout = this.options.disconnectTimeout ?? DISCONNECT_TIMEOUT;
        const client = connectToSentinel(endpoint, { disconnectTimeout, ...(more as object | undefined) });
        // ioredis's lookup goes on to the next sentinel (after its retry pause) even once the client
        // closed: that connection is closed at once, as the lookup's next step then fails anyway.
        if (!this.connecting) client.disconnect();
        else this.#track(client);
        return client;
      };
    }
  }

  /** Also closes the connections to sentinels on their way (see #asking). */
  override disconnect(): void {
    super.disconnect();
    for (const client of [...this.#asking]) client.disconnect();
    this.#asking.clear();
  }

  #track(client: Redis): void {
    this.#asking.add(client);
    client.once("end", () => this.#asking.delete(client));
  }
}

/** What the error of {@link confirmMaster} says after the master's address and name (whyFailed looks for it). */
export const NOT_CONFIRMED = " not confirmed: ";

/**
 * Resolves when more than half of the listed sentinels (deduplicated by address) name `address` as the
 * master; a sentinel that fails or does not answer in time counts against.
 * @throws Error saying how many named it, when fewer did.
 */
export async function confirmMaster(
  options: SentinelConnectionOptions,
  address: Address,
  opened: (client: Redis) => void = () => {},
): Promise<void> {
  const sentinels = listed(options.sentinels ?? []);
  const needed = Math.floor(sentinels.length / 2) + 1;
  let agreeing = 0;
  let answered = 0;
  const others: string[] = [];
  await new Promise<void>((resolve) => {
    if (sentinels.length === 0) resolve();
    for (const sentinel of sentinels) {
      void masterNamedBy(options, sentinel, opened).then((named) => {
        answered++;
        if (named !== undefined && sameAddress(named, address)) agreeing++;
        else if (named !== undefined) others.push(`${named.host}:${named.port}`);
        // Decided as soon as the outcome is known: a sentinel that hangs then costs nothing.
        if (agreeing >= needed || answered - agreeing > sentinels.length - needed) resolve();
      });
    }
  });
  if (agreeing >= needed) return;
  const elsewhere = others.length > 0 ? `; others name ${[...new Set(others)].join(", ")}` : "";
  // Decided early, "0 of 3 name it" read as false when the one ioredis asked named it (r29 review).
  const unheard = sentinels.length - answered;
  const waited = unheard > 0 ? `; ${unheard} not waited for (a majority was out of reach)` : "";
  throw new Error(
    `master ${address.host}:${address.port} of "${options.name}"${NOT_CONFIRMED}${agreeing} of ${sentinels.length} sentinels name it (${needed} needed)${elsewhere}${waited}`,
  );
}

// The master `sentinel` names (after natMap), or undefined when it names none, fails or does not answer
// within `sentinelCommandTimeout` (else `connectTimeout`): a stopped sentinel accepts the connection and
// never answers, and ioredis's own timeouts leave its connection handshake waiting seconds longer.
async function masterNamedBy(
  options: SentinelConnectionOptions,
  sentinel: Partial<SentinelAddress>,
  opened: (client: Redis) => void,
): Promise<Address | undefined> {
  // As ioredis connects to its sentinels (its defaults: localhost, port 26379; no auth, TLS or family: null).
  const client = new Redis({
    host: sentinel.host ?? "localhost",
    port: sentinel.port ?? 26379,
    ...(sentinel.family ? { family: sentinel.family } : {}),
    ...(options.sentinelUsername ? { username: options.sentinelUsername } : {}),
    ...(options.sentinelPassword ? { password: options.sentinelPassword } : {}),
    ...(options.sentinelTLS ? { tls: options.sentinelTLS } : {}),
    connectTimeout: options.connectTimeout ?? CONNECT_TIMEOUT,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    lazyConnect: true,
    disconnectTimeout: options.disconnectTimeout ?? DISCONNECT_TIMEOUT,
  });
  client.on("error", () => {});
  opened(client);
  const ask = async (): Promise<Address | undefined> => {
    await client.connect();
    const reply = (await client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", options.name ?? "")) as unknown[] | null;
    return Array.isArray(reply) ? natResolve(options.natMap, { host: String(reply[0]), port: Number(reply[1]) }) : undefined;
  };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), options.sentinelCommandTimeout ?? options.connectTimeout ?? CONNECT_TIMEOUT);
  });
  try {
    return await Promise.race([ask().catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

// The listed sentinels, each address once (ioredis's defaults: localhost, port 26379).
function listed(sentinels: readonly Partial<SentinelAddress>[]): Partial<SentinelAddress>[] {
  const seen = new Map<string, Partial<SentinelAddress>>();
  for (const sentinel of sentinels) seen.set(`${sentinel.host ?? "localhost"}:${sentinel.port ?? 26379}`, sentinel);
  return [...seen.values()];
}

// What ioredis connects to for an address a sentinel names: its natMap entry, if any.
function natResolve(natMap: NatMap | null | undefined, address: Address): Address {
  // ioredis's default natMap is null.
  if (natMap === undefined || natMap === null) return address;
  const key = `${address.host}:${address.port}`;
  const mapped = typeof natMap === "function" ? natMap(key) : natMap[key];
  return mapped ?? address;
}

function sameAddress(a: Address, b: Address): boolean {
  return a.host === b.host && a.port === b.port;
}
