// Red team (r20) of RedisLink: frames too large for Redis's pub/sub output buffer, and forged frames of
// a million envelopes published by another client on the link's channels.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { Redis } from "ioredis";
import { MAX_INVALID_ENVELOPES, RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

for (const replylessPublish of [false, true])
it(`red team: a batch of 1,000 messages of 40 KB (one 40 MB frame before) reaches the other bus whole, and no subscriber is cut${replylessPublish ? " (replylessPublish)" : ""}`, async () => {
  const prefix = `rt20-${randomUUID()}:`;
  const sender = new Bus();
  const receiver = new Bus();
  const out = await RedisLink.connect({ bus: sender, connection: server.url, prefix, exportFilters: ["big:*"], replylessPublish });
  const into = await RedisLink.connect({ bus: receiver, connection: server.url, prefix, importFilters: ["big:*"] });
  const errors: BerryError[] = [];
  out.on("error", (error) => void errors.push(error));
  into.on("error", (error) => void errors.push(error));
  try {
    let got = 0;
    receiver.follow("big:*", () => void got++);
    const payload = "x".repeat(40_000);
    // One tick: one batch, one run (same identifier).
    for (let i = 0; i < 1_000; i++) sender.twitter("big:x", i, payload);
    // Before: Redis cut both subscribers (client-output-buffer-limit pubsub 32 MB): none arrived, and
    // each link reported messages that may be lost.
    await waitFor(() => got === 1_000, "all 1,000 messages", 60_000).catch(() => {});
    assert.equal(got, 1_000);
    assert.deepEqual(
      errors.map((error) => error.message),
      [],
    );
  } finally {
    await Promise.all([out.close(), into.close()]);
  }
});

it("red team: a forged frame of 1,000,000 invalid envelopes is refused after a few reports, all counted; good frames still arrive", async () => {
  const prefix = `rt20-${randomUUID()}:`;
  const bus = new Bus();
  const link = await RedisLink.connect({ bus, connection: server.url, prefix, importFilters: ["s:*"] });
  const raw = new Redis(server.url);
  const errors: BerryError[] = [];
  link.on("error", (error) => void errors.push(error));
  try {
    const got: unknown[] = [];
    bus.follow("s:*", (message) => void got.push(message.args[0]));
    const envelope = (n: number): string =>
      JSON.stringify({ v: 1, id: "s:x", args: [n], kwargs: {}, messageId: `forger/${n}`, timestamp: 1, hops: ["forger"] });
    await raw.publish(`${prefix}s:x`, `forger\n[${Array(1_000_000).fill("{}").join(",")}]`);
    // A frame with an invalid envelope among good ones (a relayed message past the hop limit) keeps the good ones.
    await raw.publish(`${prefix}s:x`, `forger\n[${envelope(1)},{},${envelope(2)}]`);
    await waitFor(() => got.length === 2, "the good envelopes", 60_000);
    await sleep(100);
    assert.deepEqual(got, [1, 2]);
    assert.equal(link.stats.rejected, 1_000_001);
    // Before: a report for each of the million (and seconds of a held event loop).
    assert.equal(errors.length, MAX_INVALID_ENVELOPES + 2);
    assert.ok(errors.every((error) => error.code === "INVALID_ENVELOPE"));
    assert.match(errors[MAX_INVALID_ENVELOPES]?.message ?? "", /then 999984 more/);
  } finally {
    raw.disconnect();
    await link.close();
  }
});
