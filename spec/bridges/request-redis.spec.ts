// Request/response across a RedisLink (pub/sub on a real redis-server), the answering bus in a child process.
import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RedisLink } from "../../bridges/redis/redis-link.js";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";
import { sleep } from "../helpers/wait-for.js";
import { requestConformance } from "./link-conformance.js";
import { redisParent } from "./request-parents.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

requestConformance("redis", () => redisParent("rq-parent-redis", server.url, "rq-", true), true);

describe("answers over Redis pub/sub", () => {
  it("reach the asking bus only: a bystander importing what it follows receives none", async () => {
    const prefix = `rq-only-${randomUUID()}:`;
    const connect = (bus: Bus) => RedisLink.connect({ bus, connection: server.url, prefix, importFilters: "followers" });
    const asker = new Bus({ id: "rq-asker" });
    const answerer = new Bus({ id: "rq-answerer" });
    const bystander = new Bus({ id: "rq-bystander" });
    answerer.follow("only:add", (m) => (m.args as number[]).reduce((x, y) => x + y, 0));
    bystander.follow("other:*", () => {});
    const links = [await connect(asker), await connect(answerer), await connect(bystander)];
    for (let i = 0; i < 20; i++) assert.equal(await asker.ask("only:add", i, 1, within({ timeout: 5_000 })), i + 1);
    await sleep(200);
    const bystanderLink = links[2] as RedisLink;
    assert.equal(bystanderLink.stats.received + bystanderLink.stats.duplicates, 0, "no answer (or request) reached the bystander");
    assert.equal((links[0] as RedisLink).stats.received, 20, "the asker got its 20 answers");
    for (const link of links) await link.close();
  });
});
