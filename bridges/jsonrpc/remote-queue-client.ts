import { InvalidArgumentError, QueueClosedError, QueueEmptyError, QueueTimeoutError } from "../../lib/errors.js";
import type { Message } from "../../lib/message.js";
import { fromEnvelope } from "../envelope.js";
import { BridgeErrorCode } from "./error-codes.js";
import { BadResponseError, RemoteError } from "./errors.js";
import { isTokenLost } from "./http-link.js";
import { RpcEndpoint, type RpcEndpointOptions } from "./rpc-endpoint.js";

/** Options of {@link RemoteQueueClient.connect}. */
export interface RemoteQueueOptions extends RpcEndpointOptions {
  /** Filter of the queue (default: the first queue the server owns, see `serve --queue`). */
  filter?: string;
  /** Compete with other clients of the same filter for its messages instead of getting a copy of each. */
  shared?: boolean;
  /** Idle seconds after which the server drops the queue (default 300; 0 = never). */
  ttl?: number;
}

/**
 * berryMQ's style 03: a queue kept on a bridge server, pulled from another process with `get` (long-poll
 * with timeout) and `getNowait`. Rejects with the same typed errors as a local Queue.
 * @example
 * const queue = await RemoteQueueClient.connect("http://127.0.0.1:7200/", { filter: "task:*" });
 * const message = await queue.get({ timeout: 1000 });
 * await queue.close();
 */
export class RemoteQueueClient implements AsyncIterable<Message> {
  /** The queue's filter. */
  readonly filter: string;
  readonly #endpoint: RpcEndpoint;
  readonly #options: RemoteQueueOptions;
  #token: string;
  #closed = false;

  private constructor(endpoint: RpcEndpoint, filter: string, token: string, options: RemoteQueueOptions) {
    this.#endpoint = endpoint;
    this.filter = filter;
    this.#token = token;
    this.#options = options;
  }

  /** Opens a queue on the server at `url`. */
  static async connect(url: string | URL, options: RemoteQueueOptions = {}): Promise<RemoteQueueClient> {
    const endpoint = new RpcEndpoint(url, options);
    try {
      let filter = options.filter;
      if (filter === undefined) {
        const hello = (await endpoint.call("berrymq.hello", {})) as { queues?: unknown };
        const queues = Array.isArray(hello?.queues) ? hello.queues : [];
        if (typeof queues[0] !== "string") {
          throw new InvalidArgumentError(
            "filter",
            filter,
            `a filter: the server at ${endpoint.url.href} owns no queue (start it with --queue FILTER)`,
          );
        }
        filter = queues[0];
      }
      const token = await open(endpoint, filter, options);
      return new RemoteQueueClient(endpoint, filter, token, options);
    } catch (error) {
      endpoint.close();
      throw error;
    }
  }

  /**
   * The next message, waiting up to `timeout` ms on the server (no timeout: until one comes).
   * @throws QueueTimeoutError, QueueClosedError; RemoteError or a socket error when the server fails.
   */
  get(options: { timeout?: number } = {}): Promise<Message> {
    const { timeout } = options;
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout >= 0)) {
      return Promise.reject(new InvalidArgumentError("timeout", timeout, "a finite number of ms >= 0"));
    }
    // The HTTP request may take as long as the server waits, and then some.
    const httpTimeout = timeout === undefined ? 2_147_483_647 : timeout + 10_000;
    return this.#pull("berrymq.get", timeout === undefined ? {} : { timeout }, httpTimeout, timeout ?? 0);
  }

  /**
   * The oldest queued message, without waiting.
   * @throws QueueEmptyError when there is none.
   */
  getNowait(): Promise<Message> {
    return this.#pull("berrymq.getNowait", {}, undefined, 0);
  }

  /** Yields messages as they come, until closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    while (!this.#closed) {
      try {
        yield await this.get({ timeout: 25_000 });
      } catch (error) {
        if (error instanceof QueueTimeoutError) continue;
        if (error instanceof QueueClosedError || this.#closed) return;
        throw error;
      }
    }
  }

  /** Closes the queue on the server and the sockets. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#endpoint.call("berrymq.close", { token: this.#token }, 1_000).catch(() => undefined);
    this.#endpoint.close();
  }

  async #pull(
    method: string,
    params: Record<string, unknown>,
    httpTimeout: number | undefined,
    timeout: number,
  ): Promise<Message> {
    if (this.#closed) throw new QueueClosedError(this.filter);
    for (let attempt = 0; ; attempt++) {
      try {
        return fromEnvelope(await this.#endpoint.call(method, { ...params, token: this.#token }, httpTimeout));
      } catch (error) {
        // A restarted server forgot the queue: open it again, once.
        if (isTokenLost(error) && attempt === 0 && !this.#closed) {
          this.#token = await open(this.#endpoint, this.filter, this.#options);
          continue;
        }
        throw localError(error, this.filter, timeout);
      }
    }
  }
}

async function open(endpoint: RpcEndpoint, filter: string, options: RemoteQueueOptions): Promise<string> {
  const result = (await endpoint.call("berrymq.connect", {
    style: "queue",
    filter,
    ttl: options.ttl ?? 300,
    shared: options.shared === true,
  })) as { token?: unknown };
  if (typeof result?.token !== "string") throw new BadResponseError(endpoint.url.href, result, '{"token": "..."}');
  return result.token;
}

// The queue errors a local Queue would throw, so callers handle both the same way.
function localError(error: unknown, filter: string, timeout: number): unknown {
  if (!(error instanceof RemoteError)) return error;
  if (error.rpcCode === BridgeErrorCode.QueueTimeout) return new QueueTimeoutError(filter, timeout);
  if (error.rpcCode === BridgeErrorCode.QueueEmpty) return new QueueEmptyError(filter);
  if (error.rpcCode === BridgeErrorCode.QueueClosed) return new QueueClosedError(filter);
  return error;
}
