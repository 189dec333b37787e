// Red team (r19): RedisLink skips its own frames by the bytes of its bus id. UTF-8 writes every lone
// surrogate as the same three bytes (U+FFFD), so two distinct ids can have the same bytes.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

it("red team: buses whose ids differ only in a lone surrogate (or one has U+FFFD there) hear each other over RedisLink, and nobody hears itself twice", async () => {
  const prefix = `rt19-${randomUUID()}:`;
  const base = `rt19-${randomUUID()}-`;
  const ids = [`${base}\ud800`, `${base}\udc00`, `${base}\ufffd`];
  const buses = ids.map((id) => new Bus({ id }));
  const links = await Promise.all(buses.map((bus) => RedisLink.connect({ bus, connection: server.url, prefix })));
  try {
    const got = buses.map(() => [] as unknown[]);
    buses.forEach((bus, i) => void bus.follow("s:*", (m) => void got[i]?.push(m.args[0])));
    await sleep(200);
    buses.forEach((bus, i) => void bus.twitter("s:x", i));
    // Before: each bus took the others' frames for its own (same origin bytes) and skipped them: each
    // heard only itself.
    await waitFor(() => got.every((heard) => heard.length === 3), "every bus hears all three", 3_000).catch(() => {});
    await sleep(200);
    for (const heard of got) assert.deepEqual([...heard].sort(), [0, 1, 2], JSON.stringify(got));
    for (const link of links) assert.equal(link.stats.rejected, 0);
  } finally {
    await Promise.all(links.map((link) => link.close()));
  }
});
