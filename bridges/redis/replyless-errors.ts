import { BerryError } from "../../lib/errors.js";

/**
 * `replylessPublish: true`, and Redis refused the replyless socket's handshake (CLIENT renamed or
 * forbidden, an ACL user without `+client|reply`, Redis < 3.2): `RedisLink.connect()` rejects with it.
 */
export class ReplylessRefusedError extends BerryError {
  /** Redis's answer, e.g. `ERR unknown command 'CLIENT'`. */
  readonly reason: string;

  constructor(reason: string) {
    super(
      "REDIS_REPLYLESS_REFUSED",
      `redis refused the replyless publisher's handshake (replylessPublish: true): ${reason}; leave replylessPublish unset ("auto") to publish over the ioredis client there`,
    );
    this.reason = reason;
  }
}

/**
 * A link with `replylessPublish: "auto"` (the default) publishes over its ioredis client from now on:
 * Redis refused `CLIENT REPLY OFF` on the replyless socket. Reported once, with how many batches the
 * socket held unconfirmed (they are published again over the client, first).
 */
export class ReplylessFallbackError extends BerryError {
  /** Redis's answer, e.g. `NOPERM this user has no permissions to run the 'client|setname' command`. */
  readonly reason: string;
  /** PUBLISHes written on the replyless socket and never confirmed, published again over the client. */
  readonly held: number;

  constructor(who: string, reason: string, held: number) {
    super(
      "REDIS_REPLYLESS_FALLBACK",
      `${who}: publishing over the ioredis client (one reply per PUBLISH) instead of the replyless socket, which Redis refused: ${reason}${held > 0 ? `; the ${held} PUBLISHes it held unconfirmed go again over the client` : ""}`,
    );
    this.reason = reason;
    this.held = held;
  }
}
