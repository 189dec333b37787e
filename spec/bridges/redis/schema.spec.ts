// Schemas at the RedisLink boundary: a far process (no schemas) publishes invalid payloads through a real
// redis-server; this bus refuses them before any follower (see schema-conformance.ts).
import { after, before, it } from "node:test";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { startRedis, type RedisServer } from "../../helpers/redis-server.js";
import { runFixture } from "./fixtures/run-fixture.js";
import { assertOnlyValidDelivered, FAR_MESSAGES, linkErrors, schemaBus } from "../schema-conformance.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

it("RedisLink: invalid payloads from a far process are counted, reported with the issues, never delivered", async () => {
  const prefix = `schema-${process.pid}-${Date.now()}:`;
  const { bus, seen } = schemaBus("redis-schemas");
  const link = await RedisLink.connect({ bus, connection: redis.url, prefix });
  const errors = linkErrors(link);
  const sender = runFixture("../../fixtures/schema-sender.ts", [
    "redis",
    JSON.stringify({ url: redis.url, prefix, messages: FAR_MESSAGES }),
  ]);
  try {
    await sender.line("sent");
    await assertOnlyValidDelivered(link, seen, errors, 0);
  } finally {
    await sender.kill();
    await link.close();
    bus.close();
  }
});
