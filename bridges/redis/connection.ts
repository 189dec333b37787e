import { Cluster, Redis, type RedisOptions } from "ioredis";
import { InvalidArgumentError } from "../../lib/errors.js";

/** A client of a standalone Redis (or one found through Sentinel), or of a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * Where to find Redis: a `redis://` URL, ioredis options (Sentinel: `{ sentinels, name }`), or a client
 * to copy (`Redis` or `Cluster`). A given client is only duplicated, never used or closed by berrymq.
 */
export type RedisConnection = string | RedisOptions | RedisClient;

/** What berrymq sets on the clients it opens, whatever the connection says. */
export interface ClientOverrides {
  /** false: commands fail at once while disconnected (links buffer and retry themselves). */
  enableOfflineQueue?: boolean;
  /** null: commands wait for the reconnection (durable channels must not fail on a restart). */
  maxRetriesPerRequest?: number | null;
  connectionName?: string;
}

/** Opens a new client of `connection`, with `overrides` (reconnection policy) on top. */
export function openClient(connection: RedisConnection, overrides: ClientOverrides = {}): RedisClient {
  if (connection instanceof Redis) return connection.duplicate(overrides);
  if (connection instanceof Cluster) {
    const { enableOfflineQueue, ...perNode } = overrides;
    return connection.duplicate(undefined, enableOfflineQueue === undefined ? { redisOptions: perNode } : { enableOfflineQueue, redisOptions: perNode });
  }
  if (typeof connection === "string") {
    if (!/^rediss?:\/\//.test(connection)) throw new InvalidArgumentError("connection", connection, "a redis:// or rediss:// URL");
    return new Redis(connection, overrides);
  }
  if (typeof connection !== "object" || connection === null) {
    throw new InvalidArgumentError("connection", connection, "a redis:// URL, ioredis options, or a Redis/Cluster client");
  }
  // berrymq reads replies in the default (legacy) shapes, whatever mapping the caller prefers.
  const { replyMapping: _mapping, ...options } = connection;
  return new Redis({ ...options, ...overrides });
}

/** Defines Lua scripts on a client (ioredis runs them with EVALSHA, loading them on NOSCRIPT). */
export function defineScripts(client: RedisClient, scripts: Readonly<Record<string, { lua: string; keys: number }>>): void {
  for (const [name, { lua, keys }] of Object.entries(scripts)) client.defineCommand(name, { lua, numberOfKeys: keys });
}

/** Runs a script defined by {@link defineScripts}. */
export function runScript(client: RedisClient, name: string, args: readonly (string | number)[]): Promise<unknown> {
  const command = (client as unknown as Record<string, (...values: (string | number)[]) => Promise<unknown>>)[name];
  if (command === undefined) throw new Error(`script ${name} was not defined on this client`);
  return command.apply(client, args as (string | number)[]);
}

/** Closes a client politely (QUIT), or at once when it is not connected. */
export async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === "end") return;
  if (client.status !== "ready") {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/** Resolves when the client is ready for commands; rejects on its first connection error before that. */
export function whenReady(client: RedisClient): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = (): void => {
      client.off("error", onError);
      resolve();
    };
    const onError = (error: Error): void => {
      client.off("ready", onReady);
      reject(error);
    };
    client.once("ready", onReady);
    client.once("error", onError);
  });
}
