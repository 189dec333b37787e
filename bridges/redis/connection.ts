import { createHash } from "node:crypto";
import { connect } from "node:net";
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import { errorText, InvalidArgumentError } from "../../lib/errors.js";
import { type LongTimer, setLongTimeout } from "../../lib/long-timer.js";
import { ConnectTimeoutError } from "../errors.js";
import { DISCONNECT_TIMEOUT, promptDisconnect } from "./disconnect-timeout.js";
import { MajoritySentinelConnector, NOT_CONFIRMED } from "./sentinel-majority.js";
import { settlesWithin } from "./settles-within.js";

/** A client of a standalone Redis (or one found through Sentinel), or of a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** A Redis Cluster to connect to: startup nodes and ioredis Cluster options. */
export interface ClusterConnection {
  /** Some of the Cluster's nodes (`{ host, port }`, `"host:port"` or a port); the others are discovered. */
  cluster: readonly ClusterNode[];
  /** ioredis Cluster options; berrymq sets the retry options that make a failover wait (see the README). */
  options?: ClusterOptions;
}

/**
 * Where to find Redis: a `redis://` URL; ioredis options (Sentinel: `{ sentinels, name }`); a Cluster's
 * startup nodes and options (`{ cluster: [...], options }`); or a client to copy (`Redis` or `Cluster`,
 * also from another copy of ioredis). A given client is only duplicated, never used or closed by berrymq.
 */
export type RedisConnection = string | RedisOptions | ClusterConnection | RedisClient;

/** What berrymq sets on the clients it opens, whatever the connection says. */
export interface ClientOverrides {
  /** false: commands fail at once while disconnected (links buffer and retry themselves). */
  enableOfflineQueue?: boolean;
  /** null: commands wait for the reconnection or the failover (durable channels must not fail on a restart). */
  maxRetriesPerRequest?: number | null;
  connectionName?: string;
  /** Cluster only: SSUBSCRIBE through one subscriber connection per master (ioredis `shardedSubscribers`). */
  shardedSubscribers?: boolean;
  /**
   * Cluster only: follow redirections (MOVED, ASK, TRYAGAIN: a slot resharded; CLUSTERDOWN) for as long as
   * they come, as `maxRetriesPerRequest: null` does, without waiting through a standalone outage.
   */
  followMoves?: boolean;
}

// How long a Cluster command waits between attempts while a master fails over, in ms.
const FAILOVER_RETRY = 100;
// How long closeClient waits for the answer to QUIT before it cuts the connection, in ms.
const QUIT_GRACE = 5_000;
// How long probeServers waits for a TCP connection to a server, in ms.
const PROBE_TIMEOUT = 1_000;
// Longest pause between reconnection attempts through Sentinel, in ms.
const SENTINEL_RETRY = 250;

/** Cluster options that make commands wait through a failover instead of failing (`wait`) or retry briefly. */
function clusterRetries(wait: boolean): ClusterOptions {
  return {
    // A command retries on MOVED/TRYAGAIN/CLUSTERDOWN/closed connections; waiting ones never give up.
    maxRedirections: wait ? Number.POSITIVE_INFINITY : 16,
    retryDelayOnFailover: FAILOVER_RETRY,
    retryDelayOnClusterDown: FAILOVER_RETRY,
    retryDelayOnTryAgain: FAILOVER_RETRY,
    clusterRetryStrategy: (times: number) => Math.min(times * 100, 2_000),
  };
}

/** A client made by another copy of ioredis: the same methods, a different class. */
interface ForeignClient {
  readonly status: string;
  readonly isCluster?: boolean;
  duplicate(...args: unknown[]): unknown;
  nodes?: unknown;
  options: object;
}

function isForeignClient(value: object): value is ForeignClient {
  const candidate = value as Partial<ForeignClient>;
  return typeof candidate.duplicate === "function" && typeof candidate.status === "string" && typeof candidate.options === "object";
}

/**
 * Opens a new client of `connection`, with `overrides` (reconnection policy) on top. A client given with
 * `lazyConnect: true` is copied without it: the copy connects at once.
 * @throws InvalidArgumentError for anything that is not a connection (never falls back to a default address).
 */
export function openClient(connection: RedisConnection, given: ClientOverrides = {}): RedisClient {
  const overrides = given.connectionName === undefined ? given : { ...given, connectionName: clientName(given.connectionName) };
  const { followMoves, ...clientOverrides } = overrides;
  const wait = overrides.maxRetriesPerRequest === null || followMoves === true;
  const client = openWith(connection, clientOverrides, wait);
  // First listener: ioredis emits the error of a refused AUTH or HELLO before it rejects the commands
  // queued behind it with the same object, so each of them carries it redacted.
  client.on("error", redactCredentials);
  // A Cluster's node emits its refused AUTH or HELLO (a password rotated on the servers) as "node error",
  // not "error": before the r30 review every report and command failure that followed carried it in clear.
  if (isCluster(client)) client.on("node error", redactCredentials);
  return client;
}

/**
 * Blanks the password in what ioredis attached to `error` (and its causes): a refused AUTH or HELLO (a
 * wrong password) carries `command.args` with the password in clear, and that error is what the commands
 * queued behind it reject with. Before r30 `DurableChannel.open()` rejected with it as it was, and a
 * logger printing it (or the `cause` of a RedisConnectFailedError, a ConnectTimeoutError) printed the password.
 * A Cluster's node refusal is also ClusterAllFailedError's `lastNodeError`, followed here.
 */
export function redactCredentials(error: unknown): void {
  // A bounded walk of what an error leads to: its `cause`, a Cluster's ClusterAllFailedError's
  // `lastNodeError` (a node's refused AUTH, the password in its command: before the r30 review it went out
  // as the cause of a ConnectTimeoutError or RedisConnectFailedError), an AggregateError's `errors`, a
  // transaction's `previousErrors`.
  const pending: unknown[] = [error];
  const seen = new Set<object>();
  while (pending.length > 0 && seen.size < 64) {
    const current = pending.pop();
    if (typeof current !== "object" || current === null || seen.has(current)) continue;
    seen.add(current);
    const command = (current as { command?: { name?: unknown; args?: unknown } }).command;
    if (typeof command === "object" && command !== null && Array.isArray(command.args)) {
      const name = String(command.name).toLowerCase();
      if (name === "auth") command.args = command.args.map(() => "***");
      // HELLO <protover> AUTH <username> <password> [SETNAME <name>]
      else if (name === "hello") {
        const at = command.args.findIndex((arg: unknown) => String(arg).toLowerCase() === "auth");
        if (at >= 0) command.args = command.args.map((arg: unknown, i: number) => (i === at + 2 ? "***" : arg));
      }
    }
    const { cause, lastNodeError, errors, previousErrors } = current as Record<string, unknown>;
    pending.push(cause, lastNodeError);
    for (const list of [errors, previousErrors]) if (Array.isArray(list)) pending.push(...list.slice(0, 16));
  }
}

// openClient's work; `wait`: a Cluster follows redirections without end (see clusterRetries).
function openWith(connection: RedisConnection, overrides: Omit<ClientOverrides, "followMoves">, wait: boolean): RedisClient {
  if (typeof connection === "string") {
    if (!/^rediss?:\/\//.test(connection)) {
      throw new InvalidArgumentError("connection", withoutSecret(connection), "a redis:// or rediss:// URL");
    }
    const { shardedSubscribers: _sharded, ...plain } = overrides;
    try {
      // A `disconnectTimeout` in the URL's query wins: ioredis takes the URL's options first.
      return new Redis(connection, { disconnectTimeout: DISCONNECT_TIMEOUT, ...plain, lazyConnect: false });
    } catch (error) {
      // Node's TypeError (ERR_INVALID_URL) keeps the whole URL, password included, as `input`, which a
      // logger prints with the error (before the r28 review it went out as it was).
      if ((error as { code?: unknown }).code !== "ERR_INVALID_URL") throw error;
      throw new InvalidArgumentError(
        "connection",
        withoutSecret(connection),
        "a valid redis:// or rediss:// URL (a password percent-encoded)",
      );
    }
  }
  if (typeof connection !== "object" || connection === null) {
    throw new InvalidArgumentError("connection", connection, "a redis:// URL, ioredis options, { cluster: [...] }, or a Redis/Cluster client");
  }
  if (connection instanceof Cluster || (isForeignClient(connection) && connection.isCluster === true)) {
    const { enableOfflineQueue, shardedSubscribers, ...perNode } = overrides;
    const { replyMapping: _mapping, ...basePerNode } = (connection as Cluster).options.redisOptions ?? {};
    const options: ClusterOptions = {
      ...clusterRetries(wait),
      lazyConnect: false,
      redisOptions: { ...basePerNode, ...promptDisconnect(basePerNode), ...perNode },
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      ...(shardedSubscribers === undefined ? {} : { shardedSubscribers }),
    };
    return (connection as Cluster).duplicate(undefined, options as Parameters<Cluster["duplicate"]>[1]) as Cluster;
  }
  if (connection instanceof Redis || isForeignClient(connection)) {
    const { shardedSubscribers: _sharded, ...plain } = overrides;
    const made = connection.options;
    return (connection as Redis).duplicate({ ...promptDisconnect(made, true), ...confirmedMaster(made), ...plain, lazyConnect: false }) as Redis;
  }
  if ("cluster" in connection) {
    if (!Array.isArray(connection.cluster) || connection.cluster.length === 0) {
      throw new InvalidArgumentError("connection.cluster", shownWithoutSecret(connection.cluster), "a non-empty list of startup nodes ({ host, port }, \"host:port\" or a port)");
    }
    const { enableOfflineQueue, shardedSubscribers, ...perNode } = overrides;
    const given = connection.options ?? {};
    const { replyMapping: _mapping, ...givenPerNode } = given.redisOptions ?? {};
    return new Cluster([...connection.cluster], {
      ...clusterRetries(wait),
      ...given,
      lazyConnect: false,
      redisOptions: { ...givenPerNode, ...promptDisconnect(givenPerNode), ...perNode },
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      ...(shardedSubscribers === undefined ? {} : { shardedSubscribers }),
    });
  }
  // berrymq reads replies in the default (legacy) shapes, whatever mapping the caller prefers.
  const { replyMapping: _mapping, ...options } = connection;
  const { shardedSubscribers: _sharded, ...plain } = overrides;
  // Through Sentinel, a failover is a reconnection to the promoted replica: retry at a steady short pace
  // (ioredis backs off to 2 s) so that the stall ends soon after the promotion, unless told otherwise.
  const sentinel = Array.isArray(options.sentinels) && options.retryStrategy === undefined ? { retryStrategy: (times: number) => Math.min(times * 50, SENTINEL_RETRY) } : {};
  return new Redis({ ...sentinel, ...options, ...promptDisconnect(options), ...confirmedMaster(options), ...plain, lazyConnect: false });
}

/**
 * Through Sentinel, the connector that connects only to a master most listed sentinels name (see
 * sentinel-majority.ts), unless the options bring a connector of their own.
 */
function confirmedMaster(options: object): Pick<RedisOptions, "Connector"> {
  const given = options as RedisOptions;
  return Array.isArray(given.sentinels) && given.Connector === undefined ? { Connector: MajoritySentinelConnector } : {};
}

/**
 * `name` as Redis takes it for CLIENT SETNAME (printable ASCII, no space): it refuses any other, and the
 * connection is then left unnamed without a word (CLIENT LIST could not find it by name).
 */
export function clientName(name: string): string {
  return name.replace(/[^!-~]/g, "_");
}

/** Whether `client` talks to a Redis Cluster. */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as Partial<Cluster>).isCluster === true;
}

/**
 * Calls `listener` whenever a connection of `client` closes: the client's own, or on a Cluster each node's
 * (a Cluster client emits "close" only when it ends itself).
 */
export function onConnectionClose(client: RedisClient, listener: () => void): void {
  client.on("close", listener);
  if (isCluster(client)) client.on("+node", (node: Redis) => node.on("close", listener));
}

/**
 * Defines Lua scripts on a client: for {@link runScript}, and as ioredis commands for pipelines (which run
 * them with EVALSHA, loading them on NOSCRIPT).
 */
export function defineScripts(client: RedisClient, scripts: Readonly<Record<string, { lua: string; keys: number }>>): void {
  let known = SCRIPTS.get(client);
  if (known === undefined) {
    known = new Map();
    SCRIPTS.set(client, known);
  }
  for (const [name, { lua, keys }] of Object.entries(scripts)) {
    client.defineCommand(name, { lua, numberOfKeys: keys });
    known.set(name, { lua, keys, sha: createHash("sha1").update(lua).digest("hex") });
  }
}

// The scripts defineScripts gave each client, for runScript; `loaded`: run on it already (EVALSHA then).
const SCRIPTS = new WeakMap<RedisClient, Map<string, { lua: string; keys: number; sha: string; loaded?: boolean }>>();

/**
 * Runs a script defined by {@link defineScripts}: EVAL at its first run on the client, EVALSHA after (EVAL
 * again on NOSCRIPT: Redis restarted, another Cluster node). Not through ioredis's defined command: that
 * one wraps its reject again at every write, and a Cluster writes it again at every redirection (TRYAGAIN
 * every 100 ms through a slot's migration): after ~7,700 the chain overflowed the stack when a reply came,
 * thrown on its own (uncaught), and the process died.
 */
export async function runScript(client: RedisClient, name: string, args: readonly (string | number)[]): Promise<unknown> {
  const script = SCRIPTS.get(client)?.get(name);
  if (script === undefined) throw new Error(`script ${name} was not defined on this client`);
  if (script.loaded === true) {
    try {
      return await client.evalsha(script.sha, script.keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
    }
  }
  const result = await client.eval(script.lua, script.keys, ...args);
  script.loaded = true;
  return result;
}

/**
 * Closes a client politely (QUIT), or at once when it is not connected, or when the QUIT has no answer
 * within `grace` ms (a hung Redis, connected but answering nothing, would hold it for ever).
 */
export async function closeClient(client: RedisClient, grace = QUIT_GRACE): Promise<void> {
  if (client.status === "end") return;
  if (client.status !== "ready") {
    client.disconnect();
    return;
  }
  let answered = false;
  const quit = client.quit().then(
    () => {
      answered = true;
    },
    () => {},
  );
  await settlesWithin(quit, grace);
  if (!answered) client.disconnect();
}

/**
 * Resolves when the client is ready for commands; rejects on its first connection error before that, or
 * when it ends first ("Connection is closed."): a Cluster, or a client through Sentinel, closed while
 * connecting emits no error, and before the r28 review a link closed then never settled its `ready`.
 */
export function whenReady(client: RedisClient): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  if (client.status === "end") return Promise.reject(new Error(CONNECTION_CLOSED));
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      client.off("ready", onReady);
      client.off("error", onError);
      client.off("end", onEnd);
    };
    const onReady = (): void => {
      settle();
      resolve();
    };
    const onError = (error: Error): void => {
      settle();
      reject(error);
    };
    const onEnd = (): void => {
      settle();
      reject(new Error(CONNECTION_CLOSED));
    };
    client.once("ready", onReady);
    client.once("error", onError);
    client.once("end", onEnd);
  });
}

// ioredis's message for a command on a client that ended.
const CONNECTION_CLOSED = "Connection is closed.";

/**
 * The servers a client was told to reach, as errors name them (`host:port` or a socket path; never a
 * credential): the server, a Cluster's startup nodes, or the sentinels.
 */
export function serversOf(client: RedisClient): string[] {
  if (isCluster(client)) {
    // ioredis keeps the startup nodes as given (a port, "host:port", or { host, port }): private in its types.
    const given = (client as unknown as { startupNodes?: unknown }).startupNodes;
    return Array.isArray(given) ? given.slice(0, 100).map(nodeText) : [];
  }
  const { host, port, path, sentinels } = client.options;
  if (Array.isArray(sentinels) && sentinels.length > 0) return sentinels.slice(0, 100).map(nodeText);
  return [path !== undefined && path !== null ? path : `${host ?? "127.0.0.1"}:${port ?? 6379}`];
}

/** The Redis a client connects to, as an error names it (see {@link serversOf}). */
export function whereIs(client: RedisClient): string {
  const servers = serversOf(client).join(", ");
  if (isCluster(client)) return `the Redis Cluster of startup node(s) ${servers}`;
  const { path, sentinels, name } = client.options;
  if (Array.isArray(sentinels) && sentinels.length > 0) return `the master "${name ?? "mymaster"}" of sentinel(s) ${servers}`;
  return path !== undefined && path !== null ? `Redis at ${path}` : `Redis at ${servers}`;
}

/**
 * Why each server (`host:port`, at most 16) cannot be reached, as a TCP connection to it shows within
 * `timeout` ms (`host:port: <error>`; `host:port: reachable`). A Cluster that reached none of its startup
 * nodes, or a client that reached none of its sentinels, says only "Connection is closed." (ioredis asks
 * through connections of its own whose errors it drops), not ECONNREFUSED, ENOTFOUND or a timeout.
 */
export async function probeServers(servers: readonly string[], timeout = PROBE_TIMEOUT): Promise<string[]> {
  return Promise.all(
    servers.slice(0, 16).map(
      (server) =>
        new Promise<string>((resolve) => {
          const colon = server.lastIndexOf(":");
          const port = Number(server.slice(colon + 1));
          if (colon < 0 || !Number.isInteger(port)) return resolve(`${server}: not a host:port`);
          // An IPv6 address is shown in brackets ("[::1]:6379"), as a URL has it.
          const socket = connect({ host: server.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port });
          const done = (outcome: string): void => {
            socket.destroy();
            resolve(`${server}: ${outcome}`);
          };
          socket.setTimeout(timeout, () => done(`no TCP answer within ${timeout} ms`));
          socket.once("connect", () => done("reachable"));
          socket.once("error", (error) => done(errorText(error)));
        }),
    ),
  );
}

/**
 * {@link whereIs}, and for a Cluster or the sentinels what a TCP probe of each server finds (see
 * {@link probeServers}): their own failures say only "Connection is closed.", or nothing at all (a startup
 * node whose name does not resolve: ioredis retries without a word).
 */
export async function whereTried(client: RedisClient): Promise<string> {
  const where = whereIs(client);
  if (!isCluster(client) && !Array.isArray(client.options.sentinels)) return where;
  return `${where} (${(await probeServers(serversOf(client))).join("; ")})`;
}

/**
 * Why `client` could not connect, as an error of berrymq says it: ioredis's error's text, except through
 * Sentinel, where ioredis says "All sentinels are unreachable. Retrying from scratch after …ms. Last
 * error: …" (also when a sentinel answered but named no master, and berrymq has stopped retrying): that
 * no sentinel gave the master's address (whereIs names the master and the sentinels), with the last
 * error a lookup met unless it is only "Connection is closed." (whereTried's probe says why then); or,
 * when that error is the majority check's (sentinel-majority.ts), that a sentinel named the master but no
 * majority confirmed it.
 */
export function whyFailed(client: RedisClient, error: unknown): string {
  const text = errorText(error);
  if (isCluster(client) || !Array.isArray(client.options.sentinels) || !text.startsWith(SENTINELS_FAILED)) return text;
  const at = text.indexOf(LAST_ERROR);
  const last = at < 0 ? "" : text.slice(at + LAST_ERROR.length).trim();
  // A sentinel did name the master, which berrymq's majority check refused (said otherwise before the r29 review).
  if (last.startsWith("master ") && last.includes(NOT_CONFIRMED))
    return `a sentinel named the master, but no majority of the sentinels confirmed it (${last})`;
  const shown = last === "" || last === CONNECTION_CLOSED ? "" : ` (last error: ${last})`;
  return `no sentinel gave the master's address${shown}`;
}

// How ioredis's SentinelConnector begins the error of a pass through all sentinels that found no master,
// and introduces the last error of that pass.
const SENTINELS_FAILED = "All sentinels are unreachable";
const LAST_ERROR = " Last error: ";

// A Cluster startup node or a sentinel as ioredis takes it (a port, a string of digits, "host:port" with or
// without a scheme or credentials, or { host, port }; defaults 127.0.0.1 and 6379): its host and port alone
// (never a credential a URL holds), read as ioredis's parseURL reads it. Before the r28 review a string
// was split at its last ":": "6380" (a port to ioredis) was probed as the host "6380" (0.0.24.188), and
// "user:pass@host:6379" as the host "***@host".
function nodeText(node: unknown): string {
  if (typeof node === "number") return `127.0.0.1:${node}`;
  if (typeof node === "string") {
    if (/^\d+$/.test(node)) return `127.0.0.1:${node}`;
    if (node.startsWith("/") && !node.startsWith("//")) return node.split("?")[0] ?? node;
    try {
      const url = new URL(/^rediss?:\/\//i.test(node) ? node : node.startsWith("//") ? `redis:${node}` : `redis://${node}`);
      return `${url.hostname || "127.0.0.1"}:${url.port || 6379}`;
    } catch {
      return withoutSecret(node);
    }
  }
  if (typeof node !== "object" || node === null) return "(unknown)";
  const { host, port } = node as { host?: unknown; port?: unknown };
  return `${typeof host === "string" ? host : "127.0.0.1"}:${typeof port === "number" || typeof port === "string" ? port : 6379}`;
}

// A connection as an error shows it: no password in it, whatever else is wrong with it. A string keeps its
// scheme and what follows its last `@` (URL parsers take the user info up to there, and a password may hold
// `/`, `#`, `?` or spaces), with `password=` query values masked; an object is walked, any key that names a
// secret masked whatever its value. Linear in the input (a regular expression here backtracked on a long
// string of ':').
function withoutSecret(text: string): string {
  const at = text.lastIndexOf("@");
  const masked = at < 0 ? text : `${SCHEME.exec(text)?.[0] ?? ""}***${text.slice(at)}`;
  const query = masked.indexOf("?");
  if (query < 0) return masked;
  // Split, not matched: a pattern over the query backtracked for minutes on "?pass" repeated.
  const fields = masked
    .slice(query + 1)
    .split("&")
    .map((field) => {
      const equals = field.indexOf("=");
      return equals >= 0 && SECRET_KEY.test(field.slice(0, equals)) ? `${field.slice(0, equals)}=***` : field;
    });
  return `${masked.slice(0, query + 1)}${fields.join("&")}`;
}

const SCHEME = /^\s*(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/*/;
const SECRET_KEY = /pass|secret|token|auth|user|key/i;

// Any value as an error shows it, through withoutSecret and SECRET_KEY (objects to a depth of 8).
function shownWithoutSecret(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return withoutSecret(value);
  if (typeof value !== "object" || value === null) return value;
  if (depth >= 8) return "(…)";
  if (Array.isArray(value)) return value.slice(0, 100).map((item) => shownWithoutSecret(item, depth + 1));
  const shown: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value).slice(0, 100)) {
    shown[key] = SECRET_KEY.test(key) ? "***" : shownWithoutSecret(item, depth + 1);
  }
  return shown;
}

/**
 * `ready` (what opens over `client`: a link, a channel), within `timeout` ms (Infinity: no bound), then
 * ConnectTimeoutError naming `who`, the servers tried (see whereTried) and the last error `client`
 * emitted; and before `signal` aborts (then its reason).
 */
export function readyWithin(
  client: RedisClient,
  ready: Promise<void>,
  who: string,
  timeout: number,
  signal?: AbortSignal,
): Promise<void> {
  let last: unknown;
  let refuse: ((error: unknown) => void) | undefined;
  const onError = (error: unknown): void => {
    redactCredentials(error);
    last = error;
    // A Cluster whose every node refused the login (ClusterAllFailedError, the refused AUTH or HELLO its
    // lastNodeError) retries it until the timeout, or for ever: it fails at once, as a standalone client
    // does (before the r30 review: a ConnectTimeoutError after connectTimeout, WRONGPASS not in its message).
    const node = (error as { lastNodeError?: { command?: { name?: unknown } } } | null)?.lastNodeError;
    if (isCluster(client) && /^(auth|hello)$/i.test(String(node?.command?.name))) refuse?.(node);
  };
  client.on("error", onError);
  let timer: LongTimer | undefined;
  let onAbort: (() => void) | undefined;
  return new Promise<void>((resolve, reject) => {
    refuse = reject;
    ready.then(resolve, (error: unknown) => {
      redactCredentials(error);
      reject(error);
    });
    if (timeout !== Number.POSITIVE_INFINITY) {
      // Through Sentinel, ioredis's "All sentinels are unreachable. Retrying from scratch…" as whyFailed says it.
      const fail = (): void =>
        void whereTried(client).then((where) =>
          reject(new ConnectTimeoutError(who, where, timeout, last, last === undefined ? undefined : whyFailed(client, last))),
        );
      timer = setLongTimeout(fail, timeout);
    }
    if (signal !== undefined) {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    }
  }).finally(() => {
    timer?.clear();
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    client.off("error", onError);
  });
}
