import { randomUUID } from "node:crypto";
import { coarseNow } from "../../lib/coarse-clock.js";
import { BridgeErrorCode } from "./error-codes.js";
import { RpcFault } from "./errors.js";

/** What a token stands for on the server; `close` releases what it holds (a queue, a link). */
export interface Session {
  readonly kind: "oneway" | "queue" | "peer";
  close(): Promise<void> | void;
}

interface Entry<S extends Session> {
  readonly session: S;
  /** Idle time after which the token expires, in ms; undefined = never. */
  readonly ttl: number | undefined;
  lastAccess: number;
}

// Expired tokens are remembered (bounded) so that their owner hears "timeout", not "invalid token".
const EXPIRED_MEMORY = 10_000;

/**
 * The server's open connections by token, each with its idle `ttl` (seconds on the wire, as in berryMQ
 * 0.3): a token idle longer than that expires and its session is closed, by a sweep and on next access.
 */
export class SessionTable<S extends Session = Session> {
  readonly #entries = new Map<string, Entry<S>>();
  readonly #expired = new Set<string>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #onExpire: (token: string, session: S) => void;

  constructor(sweepInterval: number, onExpire: (token: string, session: S) => void = () => {}) {
    this.#onExpire = onExpire;
    this.#sweeper = setInterval(() => this.sweep(), sweepInterval);
    this.#sweeper.unref();
  }

  /** Number of open sessions. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Opens a session. `ttl` is in seconds; null, undefined or 0 means it never expires.
   * @returns its token (the one given, or a new UUID).
   */
  open(session: S, ttl: number | null | undefined, token: string = randomUUID()): string {
    const previous = this.#entries.get(token);
    if (previous !== undefined) void previous.session.close();
    this.#entries.set(token, { session, ttl: ttl ? ttl * 1000 : undefined, lastAccess: Date.now() });
    this.#expired.delete(token);
    return token;
  }

  /**
   * The session of a token, marking it used.
   * @throws RpcFault InvalidToken for an unknown token, TokenExpired for one idle past its ttl.
   */
  use(token: unknown): S {
    if (typeof token !== "string")
      throw new RpcFault(
        BridgeErrorCode.InvalidToken,
        `invalid token ${JSON.stringify(token) ?? String(token)}: expected a string`,
      );
    const entry = this.#entries.get(token);
    // Every call of a batch marks its token used: ttls are seconds, so the tick's cached clock will do.
    const now = coarseNow();
    if (entry !== undefined && entry.ttl !== undefined && now - entry.lastAccess > entry.ttl) this.#expire(token, entry);
    else if (entry !== undefined) {
      entry.lastAccess = now;
      return entry.session;
    }
    if (this.#expired.has(token))
      throw new RpcFault(BridgeErrorCode.TokenExpired, `token "${token}" expired (idle longer than its ttl)`);
    throw new RpcFault(BridgeErrorCode.InvalidToken, `invalid token "${token.slice(0, 80)}": no such connection`);
  }

  /** Closes a token's session; returns whether it was open. */
  async close(token: string): Promise<boolean> {
    const entry = this.#entries.get(token);
    if (entry === undefined) return false;
    this.#entries.delete(token);
    await entry.session.close();
    return true;
  }

  /** Expires every session idle past its ttl. */
  sweep(): void {
    const now = Date.now();
    for (const [token, entry] of this.#entries) {
      if (entry.ttl !== undefined && now - entry.lastAccess > entry.ttl) this.#expire(token, entry);
    }
  }

  /** Stops the sweeper and closes every session. */
  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((entry) => entry.session.close()));
  }

  #expire(token: string, entry: Entry<S>): void {
    this.#entries.delete(token);
    if (this.#expired.size >= EXPIRED_MEMORY) this.#expired.clear();
    this.#expired.add(token);
    void entry.session.close();
    this.#onExpire(token, entry.session);
  }
}
