// A raw Redis client watching a RedisLink prefix, as an attacker on the same Redis would: it collects the
// messageId of every envelope published there (full or compact form), in order.
import type { Redis } from "ioredis";

/** Subscribes `spy` to every channel of `prefix`; the returned array fills with the messageIds seen. */
export async function spyOnMessageIds(spy: Redis, prefix: string): Promise<string[]> {
  const seen: string[] = [];
  spy.on("pmessage", (_pattern: string, _channel: string, frame: string) => {
    for (const envelope of JSON.parse(frame.slice(frame.indexOf("\n") + 1)) as unknown[])
      seen.push(String(Array.isArray(envelope) ? envelope[3] : (envelope as { messageId: unknown }).messageId));
  });
  await spy.psubscribe(`${prefix}*`);
  return seen;
}
