// A durable prefix whose keys another client writes over (the r27 hostile-inbox specs): a raw client for
// those writes, the channel "sender", and channels opened on the prefix, all ended after the test.
import { randomUUID } from "node:crypto";
import type { TestContext } from "node:test";
import { Redis } from "ioredis";
import { DurableChannel, type DurableChannelOptions } from "../../../bridges/redis/durable-channel.js";

/** A fresh prefix on a Redis, with a raw client and the channels opened on it. */
export interface HostileInbox {
  /** `r27-<uuid>:{durable}:`. */
  prefix: string;
  /** A client of its own, writing keys as another client would. */
  raw: Redis;
  /** The channel "sender" on the prefix. */
  sender: DurableChannel;
  /** Opens the channel `name` on the prefix; it is ended after the test. */
  open(name: string, options?: Omit<DurableChannelOptions, "connection" | "prefix">): Promise<DurableChannel>;
}

/** Opens a fresh prefix on the Redis at `url` for test `t`, and its channel "sender". */
export async function hostileInbox(t: TestContext, url: string): Promise<HostileInbox> {
  const prefix = `r27-${randomUUID()}:{durable}:`;
  const raw = new Redis(url);
  const channels: DurableChannel[] = [];
  const open = async (name: string, options: Omit<DurableChannelOptions, "connection" | "prefix"> = {}) => {
    const channel = await DurableChannel.open(name, { ...options, connection: url, prefix });
    channels.push(channel);
    return channel;
  };
  const sender = await open("sender");
  t.after(async () => {
    await Promise.all(channels.map((channel) => channel.end()));
    raw.disconnect();
  });
  return { prefix, raw, sender, open };
}
