// Red team r30: end() called a second time while the first was on its way resolved at once, before what the
// receiver held was given back and its connections closed. A shutdown that ended a channel from two places
// (a signal handler and the main loop) and then stopped Redis, or exited, left the messages held until the
// lease ran out. Every call now resolves when the end is done.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { Redis } from "ioredis";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";

let server: RedisServer;
let raw: Redis;
before(async () => {
  server = await startRedis();
  raw = new Redis(server.url);
});
after(async () => {
  raw.disconnect();
  await server.stop();
});

it("red team: a second end() resolves only once what the receiver held is back in its channel", async (t) => {
  const prefix = `r30-${randomUUID()}:{durable}:`;
  const options = { connection: server.url, prefix, lease: 60_000 };
  const sender = await DurableChannel.open("s", options);
  const worker = await DurableChannel.open("w", options);
  t.after(() => Promise.all([sender.end(), worker.end()]));
  const sent = await sender.send("job", { to: "w" });
  await worker.receive({ timeout: 3_000 });
  const first = worker.end();
  await worker.end();
  assert.deepEqual(await raw.lrange(`${prefix}in:w`, 0, -1), [sent.id], "given back when the second end() resolved");
  assert.equal(await raw.exists(`${prefix}held:${worker.consumer}`), 0);
  await first;
});
