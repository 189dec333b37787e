import { type BerryError, InvalidArgumentError } from "../../lib/errors.js";
import { RpcMethodNotFoundError, RpcRemoteError, RpcTimeoutError } from "./errors.js";

/** A procedure the far side may call; its (awaited) result must be JSON data. */
export type Procedure = (...args: unknown[]) => unknown;

/** Options shared by the RPC server and client. */
export interface RpcOptions {
  /** How long a call waits for its answer, in ms (default 5,000). */
  callTimeout?: number;
  /** Interval of heartbeats, in ms (default 500). */
  heartbeatInterval?: number;
  /** A peer silent this long is lost and its pending calls fail (default 3 × heartbeatInterval). */
  heartbeatTimeout?: number;
}

/** JSON-RPC 2.0 error codes used on the wire. */
export const RpcErrorCode = Object.freeze({
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  /** The procedure threw; `data` carries the remote error's `name` and `message`. */
  procedureFailed: -32000,
});

/** Frame kinds of the RPC protocol: a JSON-RPC 2.0 message, or a heartbeat. */
export const RpcKind = Object.freeze({ rpc: "rpc", heartbeat: "hb" });

interface Pending {
  peer: string;
  procedure: string;
  resolve(value: unknown): void;
  reject(error: BerryError): void;
  timer: NodeJS.Timeout;
}

/**
 * The JSON-RPC 2.0 half that both ends of the bidirectional RPC share: the registered procedures, the
 * calls waiting for an answer (with their timeouts), and the handling of incoming requests and answers.
 */
export class RpcCalls {
  readonly #procedures = new Map<string, Procedure>();
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;

  /** Registers `fn` under `name` (replacing an earlier one). */
  register(name: string, fn: Procedure): void {
    if (typeof name !== "string" || name.length === 0) throw new InvalidArgumentError("name", name, "a non-empty procedure name");
    if (typeof fn !== "function") throw new InvalidArgumentError("fn", fn, "a function");
    this.#procedures.set(name, fn);
  }

  /** Calls waiting for an answer. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request with `send` and resolves with the answer.
   * @throws RpcRemoteError, RpcMethodNotFoundError, RpcTimeoutError, or what `fail` was given.
   */
  call(peer: string, procedure: string, args: unknown[], timeout: number, send: (json: string) => Promise<void>): Promise<unknown> {
    if (typeof procedure !== "string" || procedure.length === 0) {
      return Promise.reject(new InvalidArgumentError("procedure", procedure, "a non-empty procedure name"));
    }
    const id = ++this.#nextId;
    let json: string;
    try {
      json = JSON.stringify({ jsonrpc: "2.0", id, method: procedure, params: args });
    } catch (error) {
      return Promise.reject(new InvalidArgumentError("args", args, `JSON data (${String(error)})`));
    }
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RpcTimeoutError(procedure, timeout));
      }, timeout);
      this.#pending.set(id, { peer, procedure, resolve, reject, timer });
      // A failed send leaves the call to its timeout, or to the heartbeat that notices the peer is gone.
      send(json).catch(() => undefined);
    });
  }

  /** Fails every pending call to `peer` (or to every peer when `peer` is undefined) with `error`. */
  fail(peer: string | undefined, error: BerryError): number {
    let failed = 0;
    for (const [id, pending] of this.#pending) {
      if (peer !== undefined && pending.peer !== peer) continue;
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(error);
      failed++;
    }
    return failed;
  }

  /**
   * Handles one JSON-RPC message from `peer`: runs a request and hands the answer to `reply`, or settles
   * the call an answer belongs to.
   */
  async handle(peer: string, json: string, reply: (json: string) => Promise<void>): Promise<void> {
    let message: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(json);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      message = parsed as Record<string, unknown>;
    } catch {
      await reply(errorAnswer(null, RpcErrorCode.parseError, "parse error"));
      return;
    }
    if (typeof message.method === "string") {
      await reply(await this.#run(message));
      return;
    }
    const pending = typeof message.id === "number" ? this.#pending.get(message.id) : undefined;
    if (pending === undefined || pending.peer !== peer) return; // an answer after its timeout
    this.#pending.delete(message.id as number);
    clearTimeout(pending.timer);
    const error = message.error as { code?: unknown; message?: unknown; data?: { name?: unknown; message?: unknown } } | undefined;
    if (error === undefined || error === null) {
      pending.resolve(message.result);
    } else if (error.code === RpcErrorCode.methodNotFound) {
      pending.reject(new RpcMethodNotFoundError(pending.procedure));
    } else {
      const code = typeof error.code === "number" ? error.code : RpcErrorCode.procedureFailed;
      pending.reject(
        new RpcRemoteError(pending.procedure, code, String(error.data?.name ?? "Error"), String(error.data?.message ?? error.message)),
      );
    }
  }

  async #run(request: Record<string, unknown>): Promise<string> {
    const id = typeof request.id === "number" || typeof request.id === "string" ? request.id : null;
    const name = request.method as string;
    const fn = this.#procedures.get(name);
    if (fn === undefined) return errorAnswer(id, RpcErrorCode.methodNotFound, `method not found: ${name}`);
    if (!Array.isArray(request.params)) return errorAnswer(id, RpcErrorCode.invalidParams, "params must be an array");
    try {
      const result = await fn(...request.params);
      return JSON.stringify({ jsonrpc: "2.0", id, result: result ?? null });
    } catch (error) {
      const name = error instanceof Error ? error.name : "Error";
      const text = error instanceof Error ? error.message : String(error);
      return errorAnswer(id, RpcErrorCode.procedureFailed, text, { name, message: text });
    }
  }
}

function errorAnswer(id: number | string | null, code: number, message: string, data?: { name: string; message: string }): string {
  return JSON.stringify({ jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } });
}
