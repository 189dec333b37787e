import { connect, type Socket } from "node:net";
import type { Redis } from "ioredis";
import { clientName } from "./connection.js";
import { ReplylessRefusedError } from "./replyless-errors.js";

/**
 * How long after a write (or after the previous sync's answer, if one was on its way) a sync asks Redis
 * to confirm the batches written, in ms: one write and one read per 5 ms of traffic, not per batch.
 */
export const SYNC_INTERVAL = 5;
/** Written batches kept until a sync confirms them; past this, publishing fails (the Link buffers and retries). */
const MAX_UNCONFIRMED_BATCHES = 4_096;
/** In UTF-16 units for a string batch (close enough for a bound). */
const MAX_UNCONFIRMED_BYTES = 32 * 1024 * 1024;
/** Pause before opening the socket again when it closed while the ioredis client stayed up, in ms. */
const REOPEN_DELAY = 100;
/**
 * A sync unanswered this long (ms) while the socket stays open means Redis no longer runs `CLIENT REPLY ON`
 * (an ACL change took `+client` away: with replies off, its refusal is silent too): the socket is opened
 * again, whose handshake then says why. A slow Redis only costs a reconnection and copies of the batches.
 */
export const SYNC_TIMEOUT = 3_000;

// `CLIENT REPLY ON` answers +OK (and turns replies on for this one answer); `CLIENT REPLY OFF` answers
// nothing. So one +OK back means Redis ran everything written before it.
const SYNC = resp(["CLIENT", "REPLY", "ON"]) + resp(["CLIENT", "REPLY", "OFF"]);
// The handshake turns replies off and syncs: its +OK proves Redis takes CLIENT REPLY on this socket (a
// refusal answers an error per command instead, even to OFF).
const REPLY_OFF_AND_SYNC = resp(["CLIENT", "REPLY", "OFF"]) + SYNC;
// Errors that say "not now" rather than "never" (a script running, a dataset loading): the socket is
// opened again later instead of the refusal being taken as Redis's answer. Not `max number of clients`:
// Redis at maxclients took the ioredis client but has no room for this socket, and waiting for room held
// connect() for ever; it is a refusal (with "auto", the client publishes, reported).
const TRANSIENT = /^-(BUSY|LOADING|TRYAGAIN|MASTERDOWN|CLUSTERDOWN)\b/i;

/** One PUBLISH to make: a channel and a frame. */
export type Publication = readonly [channel: string, frame: string | Buffer];

/**
 * A batch written but not yet confirmed: its RESP bytes (sent again as they are), its sequence number, and
 * its PUBLISHes (handed back if Redis refuses the socket, to be published another way).
 */
interface Written {
  readonly seq: number;
  readonly data: string | Buffer;
  readonly bytes: number;
  readonly publications: readonly Publication[];
}

/**
 * Called, instead of failing, when Redis refuses the socket's handshake: the publisher has closed itself
 * and hands back the PUBLISHes of the batches it held unconfirmed, oldest first.
 */
export type OnRefused = (reason: string, unconfirmed: Publication[]) => void;

/** Publishing failed at once: no socket is ready, or too many batches wait for confirmation. */
export class ReplylessUnavailableError extends Error {
  override name = "ReplylessUnavailableError";
}

/**
 * Publishes over a socket of its own with `CLIENT REPLY OFF`: Redis sends no reply per PUBLISH, so
 * each side of a round trip reads one message instead of two. It follows an ioredis client (same server,
 * credentials): opened on its every `ready` (a Sentinel failover moves it), closed on its `close`.
 * At least once: written batches are kept until a sync (`CLIENT REPLY ON` + `OFF`, one +OK back) confirms
 * them, {@link SYNC_INTERVAL} ms after they were written (one sync on its way at a time); the ones unconfirmed when the socket
 * closes are written again, first, on the next socket (receivers drop the copies by messageId).
 * If Redis refuses CLIENT REPLY there (its handshake answers an error), `onRefused` (when given) takes the
 * unconfirmed batches and the publisher closes; without it, `opened` rejects (first socket) and the socket
 * is opened again and again, publishing failing meanwhile.
 */
export class ReplylessPublisher {
  readonly #client: Redis;
  readonly #name: string;
  #socket: Socket | undefined;
  /** The socket took AUTH, SETNAME and REPLY OFF: batches may be written. */
  #ready = false;
  #closed = false;
  readonly #unconfirmed: Written[] = [];
  #unconfirmedBytes = 0;
  #seq = 0;
  /** For each sync on its way, the sequence number of the last batch written before it, oldest first. */
  #syncs: number[] = [];
  #syncTimer: NodeJS.Timeout | undefined;
  /** Runs while a sync is on its way: see {@link SYNC_TIMEOUT}. */
  #stallTimer: NodeJS.Timeout | undefined;
  readonly #onRefused: OnRefused | undefined;
  #reopenTimer: NodeJS.Timeout | undefined;
  #opened: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** Resolves once the first socket is ready; rejects if Redis refused its first handshake (AUTH...). */
  readonly opened: Promise<void>;
  /** Called whenever the last unconfirmed batch is confirmed (close waits for it). */
  #onConfirmed: (() => void) | undefined;

  /**
   * @param name the CLIENT SETNAME of the socket (made printable as Redis takes it).
   * @param onRefused takes over when Redis refuses the socket (see the class); `opened` then resolves.
   */
  constructor(client: Redis, name: string, onRefused?: OnRefused) {
    this.#client = client;
    this.#name = clientName(name);
    this.#onRefused = onRefused;
    this.opened = new Promise((resolve, reject) => {
      this.#opened = { resolve, reject };
    });
    this.opened.catch(() => {});
    client.on("ready", this.#open);
    client.on("close", this.#drop);
    if (client.status === "ready") this.#open();
  }

  /** Batches written and not yet confirmed. */
  get unconfirmed(): number {
    return this.#unconfirmed.length;
  }

  /**
   * Writes the PUBLISHes in one write. Resolves once the socket took them (at once, unless its buffer is
   * full: then once it drained or closed); rejects at once when no socket is ready or too much waits for
   * confirmation (nothing is written then).
   */
  publish(publications: readonly Publication[]): Promise<void> {
    if (!this.#ready || this.#socket === undefined) return Promise.reject(new ReplylessUnavailableError("redis: the replyless publisher is not connected"));
    if (this.#unconfirmed.length >= MAX_UNCONFIRMED_BATCHES || this.#unconfirmedBytes >= MAX_UNCONFIRMED_BYTES)
      return Promise.reject(new ReplylessUnavailableError("redis: too many published batches wait for confirmation"));
    const data = publishCommands(publications);
    const written: Written = { seq: ++this.#seq, data, bytes: typeof data === "string" ? data.length : data.byteLength, publications };
    this.#unconfirmed.push(written);
    this.#unconfirmedBytes += written.bytes;
    const socket = this.#socket;
    const flushed = socket.write(data);
    this.#scheduleSync();
    if (flushed) return Promise.resolve();
    // The kernel took less than was written: the Link's next batch waits until it drained (or the socket
    // closed: the batch is kept unconfirmed, written again on the next one), so that sending does not
    // run ahead of Redis and the subscribers, as one reply per PUBLISH paced it.
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off("drain", done).off("close", done);
        resolve();
      };
      socket.on("drain", done).on("close", done);
    });
  }

  /**
   * Waits up to `timeout` ms for the unconfirmed batches to be confirmed (a sync goes now), then closes
   * the socket. Resolves to how many batches stayed unconfirmed (0: Redis ran every PUBLISH).
   */
  async close(timeout: number): Promise<number> {
    this.#client.off("ready", this.#open);
    this.#client.off("close", this.#drop);
    if (this.#unconfirmed.length > 0 && this.#ready) {
      this.#sync();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeout);
        this.#onConfirmed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#closed = true;
    this.#drop();
    return this.#unconfirmed.length;
  }

  // Opens a socket to the server the ioredis client is connected to (a former one is dropped first).
  readonly #open = (): void => {
    if (this.#closed) return;
    this.#drop();
    const stream = this.#client.stream as Socket | undefined;
    const host = stream?.remoteAddress;
    const port = stream?.remotePort;
    const path = this.#client.options.path;
    // A unix socket has no remote address: its path is in the options (Sentinel never gives one).
    if (path === undefined && (host === undefined || port === undefined)) return;
    const socket = path !== undefined ? connect({ path }) : connect({ host, port: port as number, family: stream?.remoteFamily === "IPv6" ? 6 : 4 });
    socket.setNoDelay(true);
    this.#socket = socket;
    socket.on("error", () => {}); // the ioredis client reports the outage; the Link reports failed publishes
    socket.on("close", () => {
      if (this.#socket !== socket) return;
      this.#drop();
      // Closed while the ioredis client is up (CLIENT KILL, a timeout): open again, the client gives no `ready`.
      if (!this.#closed && this.#client.status === "ready")
        this.#reopenTimer = setTimeout(this.#open, REOPEN_DELAY).unref();
    });
    const { username, password } = this.#client.options;
    const handshake: string[][] = [];
    if (password !== undefined && password !== null && password !== "")
      handshake.push(username !== undefined && username !== "" ? ["AUTH", username, password] : ["AUTH", password]);
    handshake.push(["CLIENT", "SETNAME", this.#name]);
    // Answers: AUTH's and SETNAME's, then the sync's +OK (replies are off from there on).
    const expected = handshake.length + 1;
    socket.write(handshake.map(resp).join("") + REPLY_OFF_AND_SYNC);
    let pending = "";
    let answers = 0;
    socket.on("data", (chunk: Buffer) => {
      pending += chunk.toString("latin1");
      let end = pending.indexOf("\r\n");
      while (end >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        end = pending.indexOf("\r\n");
        if (line.startsWith("-")) {
          // The socket closes (and opens again, unless it was Redis's refusal and onRefused takes over).
          if (!this.#ready && !TRANSIENT.test(line)) this.#refused(line.slice(1));
          socket.destroy();
          return;
        }
        if (!this.#ready) {
          if (++answers === expected) this.#begin(socket);
        } else this.#confirmed();
      }
    });
  };

  // Replies are off; the batches unconfirmed on the former socket go first, in order.
  #begin(socket: Socket): void {
    this.#ready = true;
    this.#opened?.resolve();
    this.#opened = undefined;
    const again = this.#unconfirmed.map((written) => written.data);
    for (const data of again) socket.write(data);
    if (again.length > 0) this.#sync();
  }

  // Redis answered the handshake with an error: it does not take this socket (see the class).
  #refused(reason: string): void {
    const onRefused = this.#onRefused;
    if (onRefused === undefined) {
      this.#opened?.reject(new ReplylessRefusedError(reason));
      this.#opened = undefined;
      return;
    }
    this.#closed = true;
    this.#client.off("ready", this.#open);
    this.#client.off("close", this.#drop);
    this.#drop();
    const unconfirmed = this.#unconfirmed.flatMap((written) => written.publications);
    this.#unconfirmed.length = 0;
    this.#unconfirmedBytes = 0;
    this.#opened?.resolve();
    this.#opened = undefined;
    onRefused(reason, unconfirmed);
  }

  // A sync's +OK: every batch written before it ran.
  #confirmed(): void {
    const upTo = this.#syncs.shift();
    if (upTo === undefined) return;
    clearTimeout(this.#stallTimer);
    this.#stallTimer = this.#syncs.length > 0 ? setTimeout(this.#stalled, SYNC_TIMEOUT).unref() : undefined;
    while (this.#unconfirmed.length > 0 && (this.#unconfirmed[0] as Written).seq <= upTo) {
      this.#unconfirmedBytes -= (this.#unconfirmed.shift() as Written).bytes;
    }
    if (this.#unconfirmed.length === 0) this.#onConfirmed?.();
    else this.#scheduleSync();
  }

  // One sync on its way at a time; the next goes once it is answered, if batches still wait.
  #scheduleSync(): void {
    if (this.#syncTimer !== undefined || this.#syncs.length > 0) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      if (this.#ready && this.#unconfirmed.length > 0) this.#sync();
    }, SYNC_INTERVAL);
  }

  #sync(): void {
    if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    this.#syncs.push(this.#seq);
    this.#stallTimer ??= setTimeout(this.#stalled, SYNC_TIMEOUT).unref();
    this.#socket?.write(SYNC);
  }

  // No answer to a sync within SYNC_TIMEOUT: the socket closes, and opens again (see #open's close handler).
  readonly #stalled = (): void => {
    this.#stallTimer = undefined;
    this.#socket?.destroy();
  };

  // The socket is gone: nothing is written until the next one is ready; unconfirmed batches stay.
  readonly #drop = (): void => {
    if (this.#reopenTimer !== undefined) clearTimeout(this.#reopenTimer);
    if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer);
    clearTimeout(this.#stallTimer);
    this.#reopenTimer = undefined;
    this.#syncTimer = undefined;
    this.#stallTimer = undefined;
    this.#syncs = [];
    this.#ready = false;
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.destroy();
  };
}

/** A command in RESP. */
function resp(args: readonly string[]): string {
  let text = `*${args.length}\r\n`;
  for (const arg of args) text += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return text;
}

/** The PUBLISHes as one RESP string, or as bytes when a frame is bytes. */
function publishCommands(publications: readonly Publication[]): string | Buffer {
  let text = "";
  const parts: Buffer[] = [];
  for (const [channel, frame] of publications) {
    const size = typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength;
    text += `*3\r\n$7\r\nPUBLISH\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n$${size}\r\n`;
    if (typeof frame === "string") {
      text += `${frame}\r\n`;
      continue;
    }
    parts.push(Buffer.from(text), frame);
    text = "\r\n";
  }
  if (parts.length === 0) return text;
  parts.push(Buffer.from(text));
  return Buffer.concat(parts);
}
