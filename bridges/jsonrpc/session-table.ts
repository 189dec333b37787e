import { randomUUID } from "node:crypto";
import { coarseNow } from "../../lib/coarse-clock.js";
import { BridgeErrorCode } from "./error-codes.js";
import { RpcFault } from "./errors.js";
import { kindOf } from "./kind-of.js";

/** What a token stands for on the server; `close` releases what it holds (a queue, a link). */
export interface Session {
  readonly kind: "oneway" | "queue" | "peer";
  close(): Promise<void> | void;
}

/** Options of a {@link SessionTable}. */
export interface SessionTableOptions<S extends Session> {
  /** Most open sessions (exempt ones, the server's own links, aside); default 10,000. */
  maxSessions?: number;
  /** Called when a session expires, with its ttl in seconds. */
  onExpire?: (token: string, session: S, ttl: number) => void;
}

interface Entry<S extends Session> {
  readonly session: S;
  /** Idle time after which the token expires, in ms; Infinity = never. */
  readonly ttl: number;
  readonly exempt: boolean;
  lastAccess: number;
  /** Requests of the token still running (long-polls): while any is, the token is not idle. */
  busy: number;
}

// Expired tokens are remembered (bounded) so that their owner hears "timeout", not "invalid token".
const EXPIRED_MEMORY = 10_000;

/**
 * The server's open connections by token, each with its idle `ttl` (seconds on the wire, as in berryMQ
 * 0.3): a token idle longer than that expires and its session is closed, by a sweep and on next access.
 * A token whose long-poll is waiting is busy, not idle (see `hold`).
 * At most `maxSessions` are open at once.
 */
export class SessionTable<S extends Session = Session> {
  readonly #entries = new Map<string, Entry<S>>();
  readonly #expired = new Set<string>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #onExpire: (token: string, session: S, ttl: number) => void;
  readonly #max: number;
  #counted = 0;
  #closed = false;

  constructor(sweepInterval: number, options: SessionTableOptions<S> = {}) {
    this.#onExpire = options.onExpire ?? (() => {});
    this.#max = options.maxSessions ?? 10_000;
    this.#sweeper = setInterval(() => this.sweep(), sweepInterval);
    this.#sweeper.unref();
  }

  /** Number of open sessions. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether `token` names an open session. */
  has(token: string): boolean {
    return this.#entries.has(token);
  }

  /** @throws RpcFault LimitExceeded when `maxSessions` sessions are open, ServerClosing after `closeAll`. */
  checkRoom(): void {
    this.#checkOpen();
    if (this.#counted >= this.#max)
      throw new RpcFault(
        BridgeErrorCode.LimitExceeded,
        `too many open connections (${this.#max}, the maxSessions option): close some or wait for their ttl`,
      );
  }

  /**
   * Opens a session. `ttl` is in seconds (Infinity: never expires). `exempt` sessions (the server's own
   * links) do not count against `maxSessions`.
   * @returns its token (the one given, or a new UUID).
   * @throws RpcFault LimitExceeded when full; ServerClosing after `closeAll` (nothing would close it).
   */
  open(session: S, ttl: number, token: string = randomUUID(), exempt = false): string {
    this.#checkOpen();
    if (!exempt) this.checkRoom();
    const previous = this.#entries.get(token);
    if (previous !== undefined) this.#remove(token, previous);
    this.#entries.set(token, { session, ttl: ttl * 1000, exempt, lastAccess: Date.now(), busy: 0 });
    if (!exempt) this.#counted++;
    this.#expired.delete(token);
    if (previous !== undefined) void previous.session.close();
    return token;
  }

  /** Marks a token used without looking at it (a link back reached its peer). */
  touch(token: string): void {
    const entry = this.#entries.get(token);
    if (entry !== undefined) entry.lastAccess = coarseNow();
  }

  /**
   * Marks a token busy while one of its requests runs (a long-poll): it does not expire meanwhile, and
   * its idle time starts again when the returned function is called. Unknown tokens are ignored.
   */
  hold(token: string): () => void {
    const entry = this.#entries.get(token);
    if (entry === undefined) return () => {};
    entry.busy++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.busy--;
      entry.lastAccess = Date.now();
    };
  }

  /** How many requests of a token are running now (see `hold`); 0 for an unknown token. */
  holds(token: string): number {
    return this.#entries.get(token)?.busy ?? 0;
  }

  /**
   * The session of a token, marking it used.
   * @throws RpcFault InvalidToken for an unknown token, TokenExpired for one idle past its ttl.
   */
  use(token: unknown): S {
    if (typeof token !== "string")
      throw new RpcFault(BridgeErrorCode.InvalidToken, `invalid token ${kindOf(token)}: expected a string`);
    const entry = this.#entries.get(token);
    // Every call of a batch marks its token used: ttls are seconds, so the tick's cached clock will do.
    const now = coarseNow();
    if (entry !== undefined && entry.busy === 0 && now - entry.lastAccess > entry.ttl) this.#expire(token, entry);
    else if (entry !== undefined) {
      entry.lastAccess = now;
      return entry.session;
    }
    if (this.#expired.has(token))
      throw new RpcFault(BridgeErrorCode.TokenExpired, `token ${kindOf(token)} expired (idle longer than its ttl)`);
    throw new RpcFault(BridgeErrorCode.InvalidToken, `invalid token ${kindOf(token)}: no such connection`);
  }

  /** Closes a token's session; returns whether it was open. */
  async close(token: string): Promise<boolean> {
    const entry = this.#entries.get(token);
    if (entry === undefined) return false;
    this.#remove(token, entry);
    await entry.session.close();
    return true;
  }

  /** Expires every session idle past its ttl. */
  sweep(): void {
    const now = Date.now();
    for (const [token, entry] of this.#entries) {
      if (entry.busy === 0 && now - entry.lastAccess > entry.ttl) this.#expire(token, entry);
    }
  }

  /** Stops the sweeper and closes every session; no session opens after it. */
  async closeAll(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    this.#counted = 0;
    await Promise.all(entries.map((entry) => entry.session.close()));
  }

  // A request that was already running when the server began to close must not open what nothing closes.
  #checkOpen(): void {
    if (this.#closed) throw new RpcFault(BridgeErrorCode.ServerClosing, "the server is closing: it opens no new connection");
  }

  #remove(token: string, entry: Entry<S>): void {
    this.#entries.delete(token);
    if (!entry.exempt) this.#counted--;
  }

  #expire(token: string, entry: Entry<S>): void {
    this.#remove(token, entry);
    if (this.#expired.size >= EXPIRED_MEMORY) this.#expired.clear();
    this.#expired.add(token);
    void entry.session.close();
    this.#onExpire(token, entry.session, entry.ttl / 1000);
  }
}
