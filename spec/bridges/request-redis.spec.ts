// Request/response across a RedisLink (pub/sub on a real redis-server), the answering bus in a child process.
import { randomUUID } from "node:crypto";
import { after, before } from "node:test";
import { RedisLink } from "../../bridges/redis/redis-link.js";
import { Bus } from "../../lib/bus.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";
import { requestConformance } from "./link-conformance.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

requestConformance("redis", async () => {
  const bus = new Bus({ id: "rq-parent-redis" });
  const prefix = `rq-${randomUUID()}:`;
  const link = await RedisLink.connect({ bus, connection: server.url, prefix });
  return {
    bus,
    peer: { transport: "redis", url: server.url, prefix },
    close: async () => {
      await link.close();
      bus.close();
    },
  };
});
