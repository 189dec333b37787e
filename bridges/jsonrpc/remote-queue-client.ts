import { InvalidArgumentError, QueueClosedError, QueueEmptyError, QueueTimeoutError } from "../../lib/errors.js";
import type { Message } from "../../lib/message.js";
import { parseIdentifier } from "../../lib/identifier.js";
import { unguessableMessageId } from "../../lib/unguessable-suffix.js";
import { fromEnvelope } from "../envelope.js";
import { BridgeErrorCode } from "./error-codes.js";
import { BadResponseError, HttpStatusError, RemoteError } from "./errors.js";
import { isLegacyServer, isTokenLost } from "./http-link.js";
import { fromLegacy } from "./legacy-message.js";
import { RpcEndpoint, type RpcEndpointOptions } from "./rpc-endpoint.js";

// How long close() waits for the server to answer that it closed the queue, in ms.
const CLOSE_TIMEOUT = 1_000;

/** Options of {@link RemoteQueueClient.connect}. */
export interface RemoteQueueOptions extends RpcEndpointOptions {
  /** Filter of the queue (default: the first queue the server owns, see `serve --queue`). */
  filter?: string;
  /**
   * Compete with other clients of the same filter for its messages instead of getting a copy of each. On a
   * filter the server owns a queue for (`serve({ queues })`, `berrymq serve --queue`) clients compete
   * unless they ask for `copy`.
   */
  shared?: boolean;
  /**
   * A copy of each message even of a filter the server owns a queue for, taking none from the clients
   * that compete for it (what `berrymq tail` asks). A server too old to give one refuses the connection
   * (InvalidArgumentError) when it owns the filter, rather than hand this client its workers' messages.
   */
  copy?: boolean;
  /** Idle seconds after which the server drops the queue (default 300; 0 = the server's defaultTtl: every token expires). */
  ttl?: number;
}

/**
 * berryMQ's style 03: a queue kept on a bridge server, pulled from another process with `get` (long-poll
 * with timeout) and `getNowait`. Rejects with the same typed errors as a local Queue. Against a berryMQ
 * 0.3 server (no `berrymq.*` methods) it uses 0.3's `connect_via_queue`, `get` and `get_nowait`.
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
  #legacy: boolean;
  #legacySeq = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(endpoint: RpcEndpoint, filter: string, opened: Opened, options: RemoteQueueOptions) {
    this.#endpoint = endpoint;
    this.filter = filter;
    this.#token = opened.token;
    this.#legacy = opened.legacy;
    this.#options = options;
  }

  /** Opens a queue on the server at `url`. */
  static async connect(url: string | URL, options: RemoteQueueOptions = {}): Promise<RemoteQueueClient> {
    // Checked here, as the bus checks it: refused by the server instead, it was a remote error (the CLI's
    // exit 1, not 2 for misuse).
    if (options.filter !== undefined) parseIdentifier(options.filter);
    const endpoint = new RpcEndpoint(url, options);
    try {
      let filter = options.filter;
      if (filter === undefined) {
        const hello = (await endpoint.call("berrymq.hello", {}).catch((error: unknown) => {
          if (!isLegacyServer(error)) throw error;
          throw new InvalidArgumentError(
            "filter",
            filter,
            `a filter: the server at ${endpoint.where} speaks berryMQ 0.3, which cannot list its queues`,
          );
        })) as { queues?: unknown };
        const queues = Array.isArray(hello?.queues) ? hello.queues : [];
        if (typeof queues[0] !== "string") {
          throw new InvalidArgumentError(
            "filter",
            filter,
            `a filter: the server at ${endpoint.where} owns no queue (start it with --queue FILTER)`,
          );
        }
        filter = queues[0];
      }
      return new RemoteQueueClient(endpoint, filter, await open(endpoint, filter, options), options);
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

  /** Closes the queue on the server (waiting at most 1 s for its answer) and the sockets. */
  close(): Promise<void> {
    // A second call gets the first one's promise: it resolved at once while the first still waited for the
    // server, its sockets open (r31).
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    // Bounded both ways: a hung berryMQ 0.3 server held close() for the endpoint's whole timeout (r31).
    const closing = this.#legacy
      ? this.#endpoint.legacyCall("close_connection", [this.#token], CLOSE_TIMEOUT)
      : this.#endpoint.call("berrymq.close", { token: this.#token }, CLOSE_TIMEOUT);
    await closing.catch(() => undefined);
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
        if (this.#legacy) return await this.#legacyPull(method, timeout);
        return fromEnvelope(await this.#endpoint.call(method, { ...params, token: this.#token }, httpTimeout));
      } catch (error) {
        // close() ran meanwhile: the call was interrupted, as a local Queue's get by its close(), whatever
        // the server answered first (empty, or the token its close ended).
        if (this.#closed) throw new QueueClosedError(this.filter);
        // A restarted server forgot the queue: open it again, once.
        if (isTokenLost(error) && attempt === 0) {
          const opened = await open(this.#endpoint, this.filter, this.#options);
          this.#token = opened.token;
          this.#legacy = opened.legacy;
          continue;
        }
        throw localError(error, this.filter, timeout);
      }
    }
  }

  // berryMQ 0.3: `get(token, block, seconds)` answers [identifier, args, kwargs], a token problem as a
  // result string, and an empty queue as an error (Python's queue.Empty).
  async #legacyPull(method: string, timeout: number): Promise<Message> {
    const params = method === "berrymq.getNowait" ? [this.#token] : [this.#token, true, timeout / 1000];
    let answer: unknown;
    try {
      answer = await this.#endpoint.legacyCall(method === "berrymq.getNowait" ? "get_nowait" : "get", params);
    } catch (error) {
      if (!(error instanceof RemoteError)) throw error;
      throw method === "berrymq.getNowait" ? new QueueEmptyError(this.filter) : new QueueTimeoutError(this.filter, timeout);
    }
    if (answer === "invalid token" || answer === "timeout") {
      throw new RemoteError("get", BridgeErrorCode.InvalidToken, `the berryMQ 0.3 server answered ${JSON.stringify(answer)}`);
    }
    if (!Array.isArray(answer) || answer.length !== 3)
      throw new BadResponseError(this.#endpoint.where, answer, "[identifier, args, kwargs]");
    const origin = `0.3-queue@${this.#endpoint.url.host}`;
    // Not the token: it is this client's credential, and the messageId travels on every link.
    return fromLegacy(answer[0], answer[1], answer[2], unguessableMessageId(origin, ++this.#legacySeq), [origin]);
  }
}

interface Opened {
  token: string;
  legacy: boolean;
}

async function open(endpoint: RpcEndpoint, filter: string, options: RemoteQueueOptions): Promise<Opened> {
  const ttl = options.ttl ?? 300;
  let result: { token?: unknown; copy?: unknown };
  try {
    const copy = options.copy === true ? { copy: true } : {};
    result = (await endpoint.call("berrymq.connect", { style: "queue", filter, ttl, shared: options.shared === true, ...copy })) as {
      token?: unknown;
      copy?: unknown;
    };
  } catch (error) {
    if (!isLegacyServer(error)) throw error;
    const token = await endpoint.legacyCall("connect_via_queue", [filter, ttl]);
    if (typeof token !== "string") throw new BadResponseError(endpoint.where, token, "a token");
    return { token, legacy: true };
  }
  if (typeof result?.token !== "string") throw new BadResponseError(endpoint.where, result, '{"token": "..."}');
  if (options.copy === true && result.copy !== true) await refuseOlderOwner(endpoint, filter, result.token);
  return { token: result.token, legacy: false };
}

// The queue errors a local Queue would throw, so callers handle both the same way.
function localError(error: unknown, filter: string, timeout: number): unknown {
  // A closing server closes every queue it holds; it answers a call that reaches it then with HTTP 503.
  if (error instanceof HttpStatusError && error.rpcCode === BridgeErrorCode.ServerClosing) return new QueueClosedError(filter);
  if (!(error instanceof RemoteError)) return error;
  if (error.rpcCode === BridgeErrorCode.QueueTimeout) return new QueueTimeoutError(filter, timeout);
  if (error.rpcCode === BridgeErrorCode.QueueEmpty) return new QueueEmptyError(filter);
  if (error.rpcCode === BridgeErrorCode.QueueClosed) return new QueueClosedError(filter);
  return error;
}

// A server that did not echo `copy` is older: on a filter it owns, the queue it gave competes with its
// workers. Closed and refused then; on any other filter the queue is a copy anyway.
async function refuseOlderOwner(endpoint: RpcEndpoint, filter: string, token: string): Promise<void> {
  const hello = (await endpoint.call("berrymq.hello", {})) as { queues?: unknown };
  const owned = Array.isArray(hello?.queues) && hello.queues.includes(parseIdentifier(filter).id);
  if (!owned) return;
  await endpoint.call("berrymq.close", { token }, 1_000).catch(() => undefined);
  throw new InvalidArgumentError(
    "copy",
    true,
    `a server that gives copies: ${endpoint.where} is older and owns a queue of "${filter}", whose workers this client would take messages from`,
  );
}
