import { connect, type Socket } from "node:net";
import type { Redis } from "ioredis";
import { clientName } from "./connection.js";
import { RedisCommandError } from "./errors.js";
import { ReplylessRefusedError } from "./replyless-errors.js";
import { settlesWithin } from "./settles-within.js";

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
/**
 * With replies off Redis sends no error either: a PUBLISH it refuses (an ACL user without that channel,
 * `NOPERM`) would be lost unseen. So the first PUBLISH on a channel in a batch, when the channel was not
 * checked on this socket within this many ms, goes with replies on (a check). A refused check is reported
 * (`onLost`: its batch's PUBLISHes there are lost; so is each batch written before that answer came, each
 * with a check of its own); and a batch on a channel refused before waits for its own check's answer, a
 * refusal failing it (the Link buffers, reports and retries, as over the ioredis client). A batch on a
 * channel Redis takes never waits (the socket takes it while Redis is stopped, as before). A permission taken away at run time is thus noticed within
 * this time; PUBLISHes refused before that are not.
 */
export const CHANNEL_RECHECK = 1_000;
/** Channels remembered as checked, or as refused (all forgotten when full: they are checked again). */
const MAX_CHECKED_CHANNELS = 4_096;
/**
 * A batch Redis refused on this many sockets (see {@link Rewrite}) is dropped, reported, rather than written
 * again on every new socket for ever, every later batch stuck behind it.
 */
export const MAX_REFUSALS = 3;

// `CLIENT REPLY ON` answers +OK (and turns replies on for this one answer); `CLIENT REPLY OFF` answers
// nothing. So one +OK back means Redis ran everything written before it.
const REPLY_ON = resp(["CLIENT", "REPLY", "ON"]);
const REPLY_OFF = resp(["CLIENT", "REPLY", "OFF"]);
const SYNC = REPLY_ON + REPLY_OFF;
// The handshake turns replies off and syncs: its +OK proves Redis takes CLIENT REPLY on this socket (a
// refusal answers an error per command instead, even to OFF).
const REPLY_OFF_AND_SYNC = REPLY_OFF + SYNC;
// Errors that say "not now" rather than "never" (a script running, a dataset loading): the socket is
// opened again later instead of the refusal being taken as Redis's answer. Not `max number of clients`:
// Redis at maxclients took the ioredis client but has no room for this socket, and waiting for room held
// connect() for ever; it is a refusal (with "auto", the client publishes, reported).
const TRANSIENT = /^-(BUSY|LOADING|TRYAGAIN|MASTERDOWN|CLUSTERDOWN)\b/i;
// What Redis answers (replies on) to a command it cannot even read, a frame over proto-max-bulk-len say,
// before it closes the connection. With replies off Redis 7.0 answers nothing and reads no more.
const PROTOCOL_ERROR = /^-ERR Protocol error/i;


/** One PUBLISH to make: a channel and a frame. */
export type Publication = readonly [channel: string, frame: string | Buffer];

/**
 * A batch written but not yet confirmed: its RESP bytes (sent again as they are), its sequence number, and
 * its PUBLISHes (handed back if Redis refuses the socket, to be published another way).
 */
interface Written {
  seq: number;
  /** Without the channel checks (see {@link CHANNEL_RECHECK}): what a later socket is written. */
  data: string | Buffer;
  bytes: number;
  publications: readonly Publication[];
  /** Sockets on which Redis refused it (see {@link MAX_REFUSALS}). */
  refusals?: number;
  /** Its channel checks not answered yet, and its publish() waiting for them. */
  checking?: { left: number; resolve: () => void; reject: (error: Error) => void } | undefined;
  /** Its publish() was rejected (a check refused): the Link sends it again, so no later check reports it lost. */
  abandoned?: true;
}

/**
 * An answer the socket waits for, in order: a sync's +OK (`upTo`: the last batch written before it), or a
 * channel check's two (`CLIENT REPLY ON`'s +OK, then the PUBLISH's `:<receivers>` or its error).
 */
type Awaited = { readonly upTo: number } | { readonly written: Written; readonly channel: string; on: boolean };

/** Told of PUBLISHes Redis refused after their batch's publish() resolved (see {@link CHANNEL_RECHECK}). */
export type OnLost = (error: RedisCommandError, lost: number) => void;

/**
 * Called, instead of failing, when Redis refuses the socket's handshake: the publisher has closed itself
 * and hands back the PUBLISHes of the batches it held unconfirmed, oldest first.
 */
export type OnRefused = (reason: string, unconfirmed: Publication[]) => void;

/**
 * What the owner of the frames does with the unconfirmed batches a new socket writes again: the server's
 * limits may have been lowered at run time (`CONFIG SET proto-max-bulk-len`), and Redis then takes a frame
 * over them on no socket.
 */
export interface Rewrite {
  /** Each batch's PUBLISHes as they go now (a frame cut again, or left out and reported), in order. */
  revise(batches: readonly (readonly Publication[])[]): Promise<(readonly Publication[])[]>;
  /** A batch Redis refused on {@link MAX_REFUSALS} sockets, dropped: to be reported. */
  refused(publications: readonly Publication[]): void;
  /**
   * A frame its receivers take as no message: what a stalled socket's batch is told refused by is a PUBLISH
   * of it on that batch's channel over the ioredis client (see ReplylessPublisher's #stalled).
   */
  readonly emptyFrame: string;
}

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
 * On a socket opened again, `rewrite` (when given) revises the unconfirmed batches first, and each is written
 * with a sync of its own: one Redis refuses (a protocol error, or no answer or the socket closed by Redis
 * while the ioredis client's PUBLISH on its channel is answered) is known, and dropped at its
 * {@link MAX_REFUSALS}th such socket.
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
  /** The syncs and channel checks on their way, oldest first. */
  #awaited: Awaited[] = [];
  /** Syncs among #awaited. */
  #syncs = 0;
  /** When each channel's PUBLISH was last answered without an error (see {@link CHANNEL_RECHECK}). */
  readonly #checked = new Map<string, number>();
  /** Channels whose last check Redis refused: a batch on one waits for its check's answer. */
  readonly #refusedChannels = new Set<string>();
  readonly #onLost: OnLost | undefined;
  #syncTimer: NodeJS.Timeout | undefined;
  /** Runs while a sync or check is on its way: see {@link SYNC_TIMEOUT}. */
  #stallTimer: NodeJS.Timeout | undefined;
  readonly #onRefused: OnRefused | undefined;
  #reopenTimer: NodeJS.Timeout | undefined;
  #opened: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** Resolves once the first socket is ready; rejects if Redis refused its first handshake (AUTH...). */
  readonly opened: Promise<void>;
  /** #closedOn's probes are on their way: a socket opens again after them (close waits for it). */
  #probingClosed = false;
  /** The revise of the unconfirmed batches on its way (see #begin). */
  #revising: Promise<void> | undefined;
  /** Called whenever the last unconfirmed batch is confirmed (close waits for it). */
  #onConfirmed: (() => void) | undefined;
  readonly #rewrite: Rewrite | undefined;

  /**
   * @param name the CLIENT SETNAME of the socket (made printable as Redis takes it).
   * @param onRefused takes over when Redis refuses the socket (see the class); `opened` then resolves.
   */
  constructor(client: Redis, name: string, onRefused?: OnRefused, onLost?: OnLost, rewrite?: Rewrite) {
    this.#onLost = onLost;
    this.#rewrite = rewrite;
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
   * full: then once it drained or closed) and Redis took the PUBLISHes of its channels being checked (see
   * {@link CHANNEL_RECHECK}); rejects at once when no socket is ready or too much waits for confirmation
   * (nothing is written then), and with a RedisCommandError when Redis refused a checked PUBLISH, or a
   * ReplylessUnavailableError when the socket closed before answering one (the Link sends it again).
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
    const unchecked = this.#unchecked(publications);
    const flushed = socket.write(unchecked === undefined ? data : publishCommands(publications, new Set(unchecked)));
    let checked: Promise<void> | undefined;
    if (unchecked !== undefined) {
      let waits = false;
      for (const channel of unchecked) {
        if (this.#refusedChannels.has(channel)) waits = true;
        this.#awaited.push({ written, channel, on: false });
      }
      if (waits)
        checked = new Promise((resolve, reject) => {
          written.checking = { left: unchecked.size, resolve, reject };
        });
      this.#stallTimer ??= setTimeout(this.#stalled, SYNC_TIMEOUT).unref();
    }
    this.#scheduleSync();
    if (flushed) return checked ?? Promise.resolve();
    // The kernel took less than was written: the Link's next batch waits until it drained (or the socket
    // closed: the batch is kept unconfirmed, written again on the next one), so that sending does not
    // run ahead of Redis and the subscribers, as one reply per PUBLISH paced it.
    const drained = new Promise<void>((resolve) => {
      const done = (): void => {
        socket.off("drain", done).off("close", done);
        resolve();
      };
      socket.on("drain", done).on("close", done);
    });
    return checked === undefined ? drained : Promise.all([checked, drained]).then(() => {});
  }

  // The channels of the batch to check (see CHANNEL_RECHECK), or undefined when none.
  #unchecked(publications: readonly Publication[]): Set<string> | undefined {
    let unchecked: Set<string> | undefined;
    // Monotonic: with a wall clock set back, no channel was checked again until it caught up (before r27).
    const now = performance.now();
    for (const [channel] of publications) {
      const at = this.#checked.get(channel);
      if (at !== undefined && now - at < CHANNEL_RECHECK) continue;
      unchecked ??= new Set();
      unchecked.add(channel);
    }
    return unchecked;
  }

  /**
   * Waits up to `timeout` ms for the unconfirmed batches to be confirmed (a sync goes now), then closes
   * the socket. Resolves to the PUBLISHes of the batches that stayed unconfirmed, oldest first (none: Redis
   * ran every PUBLISH). It waits too while a socket is being opened (its handshake, its revise: see
   * {@link Rewrite}) or is about to be: that socket writes them, each with its sync. Before r32 it
   * gave up at once then, and the batches were neither sent nor counted lost.
   */
  async close(timeout: number): Promise<(readonly Publication[])[]> {
    this.#client.off("ready", this.#open);
    this.#client.off("close", this.#drop);
    const coming = this.#socket !== undefined || this.#reopenTimer !== undefined || this.#probingClosed;
    if (this.#unconfirmed.length > 0 && (this.#ready || coming)) {
      if (this.#ready) this.#sync();
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
    return this.#unconfirmed.map((written) => written.publications);
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
    // Closed by Redis, not by a destroy() of this side (which emits neither): see #closedOn.
    let byRedis = false;
    const closedByRedis = (): void => {
      byRedis = true;
    };
    // On error: the ioredis client reports the outage; the Link reports failed publishes.
    socket.on("error", closedByRedis).on("end", closedByRedis);
    socket.on("close", () => {
      if (this.#socket !== socket) return;
      const culprit = byRedis && this.#rewrite !== undefined ? this.#culprit() : undefined;
      this.#drop();
      // Closed while the ioredis client is up (CLIENT KILL, a timeout): open again, the client gives no `ready`.
      if (this.#closed || this.#client.status !== "ready") return;
      if (culprit !== undefined) void this.#closedOn(culprit);
      else this.#reopenTimer = setTimeout(this.#open, REOPEN_DELAY).unref();
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
        if (this.#ready) {
          if (!this.#answered(line)) {
            socket.destroy();
            return;
          }
          continue;
        }
        if (line.startsWith("-")) {
          // The socket closes (and opens again, unless it was Redis's refusal and onRefused takes over).
          if (!TRANSIENT.test(line)) this.#refused(line.slice(1));
          socket.destroy();
          return;
        }
        if (++answers === expected) this.#begin(socket);
      }
    });
  };

  // Replies are off. On a socket opened again, the unconfirmed batches are revised first (see Rewrite):
  // nothing is published meanwhile, so they still go first. The first socket has none, and the owner
  // read the server's limits as it connected.
  // One revise at a time, each applied whatever became of its socket: a message it left out is reported
  // lost once. Before r32 a revise whose socket closed meanwhile was dropped, and the next socket's revise
  // (maybe started while the first was still on its way) reported the same message lost again.
  #begin(socket: Socket): void {
    const rewrite = this.#rewrite;
    if (rewrite === undefined || this.#opened !== undefined) {
      this.#resume(socket);
      return;
    }
    const revising = (this.#revising ?? Promise.resolve()).then(async () => {
      const batches = [...this.#unconfirmed];
      if (batches.length === 0) return;
      const revised = await rewrite.revise(batches.map((written) => written.publications)).catch(() => undefined);
      for (const [i, written] of batches.entries()) this.#revised(written, revised?.[i] ?? written.publications);
    });
    this.#revising = revising;
    void revising.then(() => {
      if (this.#revising === revising) this.#revising = undefined;
      if (this.#socket === socket && !this.#ready) this.#resume(socket);
    });
  }

  // A batch as `rewrite.revise` gave it back: the same, changed, or emptied (out of the unconfirmed ones).
  #revised(written: Written, publications: readonly Publication[]): void {
    const at = this.#unconfirmed.indexOf(written);
    if (publications === written.publications || at < 0) return;
    this.#unconfirmedBytes -= written.bytes;
    if (publications.length === 0) {
      this.#unconfirmed.splice(at, 1);
      return;
    }
    written.publications = publications;
    written.data = publishCommands(publications);
    written.bytes = typeof written.data === "string" ? written.data.length : written.data.byteLength;
    this.#unconfirmedBytes += written.bytes;
  }

  // The batches unconfirmed on the former socket go first, in order, each with a sync of its own: the
  // one Redis refuses is then known (see #culprit).
  #resume(socket: Socket): void {
    this.#ready = true;
    // Maybe another server (a failover), or other ACLs: every channel is checked again.
    this.#checked.clear();
    this.#opened?.resolve();
    this.#opened = undefined;
    for (const written of [...this.#unconfirmed]) {
      socket.write(written.data);
      this.#sync(written.seq);
    }
    if (this.#unconfirmed.length === 0) this.#onConfirmed?.();
  }

  // The batch whose PUBLISH Redis did not take on this socket, when that is known: the one of the channel
  // check waiting for its PUBLISH's answer, or the oldest unconfirmed batch when the oldest sync on its
  // way is its own (every batch before it confirmed, none after it covered).
  #culprit(): Written | undefined {
    const awaited = this.#awaited[0];
    if (awaited === undefined) return undefined;
    if ("written" in awaited) return awaited.on ? awaited.written : undefined;
    const first = this.#unconfirmed[0];
    return first?.seq === awaited.upTo ? first : undefined;
  }

  // Redis refused `written` on one more socket (see MAX_REFUSALS): one of several PUBLISHes is cut into
  // batches of one (written each with its sync on the next socket: which one Redis refuses is then known,
  // the others go); the last refusal drops it, handed to `rewrite.refused`.
  #refusedOnce(written: Written): void {
    const at = this.#unconfirmed.indexOf(written);
    // One whose publish() waits for its checks fails as the socket closes: the Link has it back.
    if (at < 0 || this.#rewrite === undefined || written.checking !== undefined) return;
    const refusals = (written.refusals ?? 0) + 1;
    written.refusals = refusals;
    const { publications } = written;
    if (refusals < MAX_REFUSALS && publications.length > 1) {
      // Between the previous batch's seq and its own, the last part keeping its own: syncs still cover them.
      const parts = publications.map((publication, i): Written => {
        const data = publishCommands([publication]);
        const bytes = typeof data === "string" ? data.length : data.byteLength;
        return { seq: written.seq - 1 + (i + 1) / publications.length, data, bytes, publications: [publication], refusals };
      });
      this.#unconfirmedBytes += parts.reduce((sum, part) => sum + part.bytes, -written.bytes);
      this.#unconfirmed.splice(at, 1, ...parts);
      return;
    }
    if (refusals < MAX_REFUSALS) return;
    this.#unconfirmed.splice(at, 1);
    this.#unconfirmedBytes -= written.bytes;
    this.#rewrite.refused(publications);
    if (this.#unconfirmed.length === 0) this.#onConfirmed?.();
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

  // An answer on the ready socket, to the oldest sync or check on its way; false if it cannot be one (an
  // error where none may come, or nothing awaited): the socket is closed then.
  #answered(line: string): boolean {
    const awaited = this.#awaited[0];
    if (awaited === undefined) return false;
    if (PROTOCOL_ERROR.test(line)) {
      const culprit = this.#culprit();
      if (culprit !== undefined) this.#refusedOnce(culprit);
      return false;
    }
    if ("written" in awaited && !awaited.on) {
      // CLIENT REPLY ON's +OK; the PUBLISH's answer comes next.
      if (line.startsWith("-")) return false;
      awaited.on = true;
      return true;
    }
    this.#awaited.shift();
    clearTimeout(this.#stallTimer);
    this.#stallTimer = this.#awaited.length > 0 ? setTimeout(this.#stalled, SYNC_TIMEOUT).unref() : undefined;
    if ("upTo" in awaited) {
      if (line.startsWith("-")) return false;
      this.#syncs--;
      this.#confirmed(awaited.upTo);
    } else this.#checkAnswered(awaited.written, awaited.channel, line);
    return true;
  }

  // A checked PUBLISH's answer: `:<receivers>` (the channel is taken), or Redis's refusal, which fails
  // the batch (it is not written again on a later socket: the Link sends it again, reported).
  #checkAnswered(written: Written, channel: string, line: string): void {
    const checking = written.checking;
    if (!line.startsWith("-")) {
      if (this.#checked.size >= MAX_CHECKED_CHANNELS) this.#checked.clear();
      this.#checked.set(channel, performance.now());
      this.#refusedChannels.delete(channel);
      if (checking !== undefined && --checking.left === 0) {
        written.checking = undefined;
        checking.resolve();
      }
      return;
    }
    if (this.#refusedChannels.size >= MAX_CHECKED_CHANNELS) this.#refusedChannels.clear();
    this.#refusedChannels.add(channel);
    if (checking !== undefined) {
      this.#abandon(written, new RedisCommandError(`PUBLISH on "${channel}"`, new Error(line.slice(1))));
      return;
    }
    // Failed already by another of its checks: the Link has it back, nothing is lost.
    if (written.abandoned === true) return;
    // Its publish() resolved already (the Link counted it sent): reported lost.
    const lost = written.publications.filter(([on]) => on === channel).length;
    this.#onLost?.(new RedisCommandError(`PUBLISH on "${channel}" (${lost} PUBLISHes of a batch sent, lost)`, new Error(line.slice(1))), lost);
  }

  // Fails a batch whose check went wrong: out of the unconfirmed ones, its publish() rejected.
  #abandon(written: Written, error: Error): void {
    const checking = written.checking;
    if (checking === undefined) return;
    written.checking = undefined;
    written.abandoned = true;
    const at = this.#unconfirmed.indexOf(written);
    if (at >= 0) {
      this.#unconfirmed.splice(at, 1);
      this.#unconfirmedBytes -= written.bytes;
    }
    checking.reject(error);
    if (this.#unconfirmed.length === 0) this.#onConfirmed?.();
  }

  // A sync's +OK: every batch written before it ran.
  #confirmed(upTo: number): void {
    while (this.#unconfirmed.length > 0 && (this.#unconfirmed[0] as Written).seq <= upTo) {
      this.#unconfirmedBytes -= (this.#unconfirmed.shift() as Written).bytes;
    }
    if (this.#unconfirmed.length === 0) this.#onConfirmed?.();
    else this.#scheduleSync();
  }

  // One sync on its way at a time; the next goes once it is answered, if batches still wait.
  #scheduleSync(): void {
    if (this.#syncTimer !== undefined || this.#syncs > 0) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      if (this.#ready && this.#unconfirmed.length > 0) this.#sync();
    }, SYNC_INTERVAL);
  }

  // A sync confirming the batches written up to `upTo` (all of them by default).
  #sync(upTo = this.#seq): void {
    if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    this.#awaited.push({ upTo });
    this.#syncs++;
    this.#stallTimer ??= setTimeout(this.#stalled, SYNC_TIMEOUT).unref();
    this.#socket?.write(SYNC);
  }

  // No answer to a sync within SYNC_TIMEOUT: the socket closes, and opens again (see #open's close handler).
  // Redis 7.0 stops reading a socket whose command it cannot read (a frame over proto-max-bulk-len) and,
  // replies off, answers nothing. When the batch is known (see #culprit), the ioredis client asks twice
  // first: a Redis that answers both and still not the sync refused it; a slow or hung one, once awake,
  // answers the sync (on its way 3 s already) before the second, and nothing is counted.
  // The probe is a PUBLISH of a frame receivers take as nothing, on the batch's channel: whatever holds that
  // batch's PUBLISH (`CLIENT PAUSE WRITE`, which answers PINGs; a permission taken away) holds it too, and
  // it needs no permission the link lacks (a PFCOUNT, refused to an ACL user without keys, as RedisLink
  // needs none, left a refused batch stalling every later one for ever where CONFIG was refused too).
  readonly #stalled = (): void => {
    this.#stallTimer = undefined;
    const socket = this.#socket;
    const culprit = this.#rewrite === undefined ? undefined : this.#culprit();
    if (socket === undefined || culprit === undefined) {
      socket?.destroy();
      return;
    }
    const awaited = this.#awaited[0];
    // Probes unanswered as long close it all the same, nothing counted.
    this.#stallTimer = setTimeout(() => socket.destroy(), SYNC_TIMEOUT).unref();
    void this.#probed(culprit).then((answered) => {
      // The sync answered meanwhile: the socket is well. Closed by Redis meanwhile: its close counts (#closedOn).
      if (this.#socket !== socket || this.#awaited[0] !== awaited || socket.destroyed || socket.readableEnded) return;
      if (answered) this.#refusedOnce(culprit);
      socket.destroy();
    });
  };

  // Redis closed the socket while `culprit`'s own sync was the oldest on its way (see #culprit): Redis 7.0
  // closes a client whose query buffer passes a client-query-buffer-limit lowered at run time, and, where
  // CONFIG is refused (no revise learns it), that batch went again and was closed again every 100 ms for
  // ever, nothing reported. Counted refused as a stalled one is, once the probes are answered (a Redis
  // restarting or a network gone fails them); then the socket opens again.
  async #closedOn(culprit: Written): Promise<void> {
    let answered = false;
    this.#probingClosed = true;
    await settlesWithin(
      this.#probed(culprit).then((probed) => {
        answered = probed;
      }),
      SYNC_TIMEOUT,
    );
    this.#probingClosed = false;
    // Closed, or opened again at the client's `ready`, meanwhile.
    if (this.#closed || this.#socket !== undefined || this.#client.status !== "ready") return;
    if (answered) this.#refusedOnce(culprit);
    this.#reopenTimer = setTimeout(this.#open, REOPEN_DELAY).unref();
  }

  // Whether the ioredis client answered two PUBLISHes of the empty frame on `written`'s channel: the probe
  // of a batch Redis did not take on the socket (see #stalled).
  #probed(written: Written): Promise<boolean> {
    const channel = written.publications[0]?.[0];
    const rewrite = this.#rewrite;
    if (channel === undefined || rewrite === undefined) return Promise.resolve(false);
    const probe = (): Promise<unknown> => this.#client.publish(channel, rewrite.emptyFrame);
    return probe()
      .then(probe)
      .then(
        () => true,
        () => false,
      );
  }

  // The socket is gone: nothing is written until the next one is ready; unconfirmed batches stay.
  readonly #drop = (): void => {
    if (this.#reopenTimer !== undefined) clearTimeout(this.#reopenTimer);
    if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer);
    clearTimeout(this.#stallTimer);
    this.#reopenTimer = undefined;
    this.#syncTimer = undefined;
    this.#stallTimer = undefined;
    // A batch waiting for its checks fails (its PUBLISHes may have been refused): the Link sends it again.
    // One not waiting stays unconfirmed, written again (unchecked) on the next socket.
    const awaited = this.#awaited;
    this.#awaited = [];
    this.#syncs = 0;
    for (const answer of awaited)
      if ("written" in answer)
        this.#abandon(answer.written, new ReplylessUnavailableError("redis: the replyless socket closed before Redis answered a PUBLISH"));
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

/**
 * The PUBLISHes as one RESP string, or as bytes when a frame is bytes. The first PUBLISH on each channel
 * of `check` (emptied) goes between CLIENT REPLY ON and OFF: Redis answers it.
 */
function publishCommands(publications: readonly Publication[], check?: Set<string>): string | Buffer {
  let text = "";
  const parts: Buffer[] = [];
  for (const [channel, frame] of publications) {
    const checked = check?.delete(channel) === true;
    if (checked) text += REPLY_ON;
    const size = typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength;
    text += `*3\r\n$7\r\nPUBLISH\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n$${size}\r\n`;
    if (typeof frame === "string") {
      text += `${frame}\r\n`;
    } else {
      parts.push(Buffer.from(text), frame);
      text = "\r\n";
    }
    if (checked) text += REPLY_OFF;
  }
  if (parts.length === 0) return text;
  parts.push(Buffer.from(text));
  return Buffer.concat(parts);
}
