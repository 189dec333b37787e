import type { Socket } from "node:net";
import type { StandaloneConnectionOptions } from "ioredis";
// Not exported from ioredis's root (ioredis 6 has no exports map: the path is its own index of connectors).
import { StandaloneConnector } from "ioredis/built/connectors/index.js";

/** A connector's stream as far as letting it go goes (a TCP, TLS or Unix socket). */
type Stream = Pick<Socket, "destroyed" | "connecting" | "writableFinished" | "destroy" | "once">;

/**
 * ioredis's StandaloneConnector (a server's or a Cluster node's connection), letting its stream go at
 * once when the client disconnects (see {@link letGoBefore}): before the r29 fix a RedisLink.connect()
 * that failed left the process waiting 2–4 s before it could exit.
 */
export class PromptConnector extends StandaloneConnector {
  // ioredis passes the client's options (RedisOptions, which include the standalone ones).
  constructor(options: unknown) {
    super(options as StandaloneConnectionOptions);
  }

  override disconnect(): void {
    const stream = letGoBefore(this);
    super.disconnect();
    letGoAfter(stream);
  }
}

/**
 * Before ioredis's AbstractConnector.disconnect(), which ends the connector's stream and arms a timer
 * (`disconnectTimeout`, 2 s) that only the stream's next "close" clears: a stream already closed (a
 * refused connection, a failed lookup) has no "close" to come, and a stream still connecting has nothing
 * to flush, so either is destroyed here and hidden from it (no timer). Returns the stream it will end.
 */
export function letGoBefore(connector: object): Stream | undefined {
  const holder = connector as { stream?: Stream | undefined };
  const stream = holder.stream;
  if (stream === undefined || stream === null) return undefined;
  if (!stream.destroyed && !stream.connecting) return stream;
  holder.stream = undefined;
  stream.destroy();
  return undefined;
}

/**
 * After the stream was ended: destroyed once what was written is flushed. A peer that never closes its
 * side (a Redis or sentinel stopped, the kernel still accepting) held it half-open until the 2 s timer.
 */
export function letGoAfter(stream: Stream | undefined): void {
  if (stream === undefined || stream.destroyed) return;
  if (stream.writableFinished) stream.destroy();
  else stream.once("finish", () => stream.destroy());
}
