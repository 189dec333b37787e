import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { escapeGlob, subscriptionPatterns } from "../../../bridges/redis/glob.js";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import type { Message } from "../../../lib/message.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { linkConformance } from "../link-conformance.js";
import { runFixture } from "./fixtures/run-fixture.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

async function linkedBus(prefix: string, importFilters?: string[]): Promise<{ bus: Bus; link: RedisLink }> {
  const bus = new Bus();
  const link = await RedisLink.connect({ bus, connection: server.url, prefix, ...(importFilters ? { importFilters } : {}) });
  return { bus, link };
}

linkConformance("redis", async () => {
  const prefix = `conf-${randomUUID()}:`;
  const left = await linkedBus(prefix);
  const right = await linkedBus(prefix);
  return {
    a: left.bus,
    b: right.bus,
    close: async () => {
      await left.link.close();
      await right.link.close();
    },
  };
});

describe("RedisLink", () => {
  it("escapes Redis glob characters in names, so a pattern matches only what berryMQ matches", async () => {
    assert.equal(escapeGlob("a*b?[c]\\d"), "a\\*b\\?\\[c\\]\\\\d");
    assert.deepEqual(subscriptionPatterns("p:", ["job:*"]), ["p:job:*", "p:\\*:*"]);
    const prefix = `glob-${randomUUID()}:`;
    const sender = await linkedBus(prefix);
    const receiver = await linkedBus(prefix, ["j?b[1]:*"]);
    const got: string[] = [];
    receiver.bus.follow("*:*", (m) => void got.push(m.id));
    sender.bus.twitter("jab1:x"); // would match the unescaped glob j?b[1]
    sender.bus.twitter("j?b[1]:y");
    sender.bus.twitter("*:z"); // a sender's wildcard reaches the filter, as in berryMQ
    await waitFor(() => got.length === 2, "two matching messages");
    await sleep(100);
    assert.deepEqual(got, ["j?b[1]:y", "*:z"]);
    await sender.link.close();
    await receiver.link.close();
  });

  it("keeps buses with different prefixes apart, and publishes on <prefix><identifier>", async () => {
    const one = await linkedBus(`p1-${randomUUID()}:`);
    const two = await linkedBus(`p2-${randomUUID()}:`);
    const spy = new Redis(server.url);
    const seen: string[] = [];
    spy.on("pmessage", (_p: string, channel: string) => void seen.push(channel));
    await spy.psubscribe(`${one.link.prefix}*`);
    const got: string[] = [];
    two.bus.follow("*:*", (m) => void got.push(m.id));
    one.bus.twitter("app:log", "hi");
    await waitFor(() => seen.length === 1, "the message on redis");
    await sleep(100);
    assert.deepEqual(seen, [`${one.link.prefix}app:log`]);
    assert.deepEqual(got, [], "another prefix is another bus");
    spy.disconnect();
    await one.link.close();
    await two.link.close();
  });

  it("reports a malformed frame from Redis and counts it, without stopping", async () => {
    const prefix = `bad-${randomUUID()}:`;
    const { bus, link } = await linkedBus(prefix);
    const errors: BerryError[] = [];
    link.on("error", (error) => void errors.push(error));
    const got: Message[] = [];
    bus.follow("x:*", (m) => void got.push(m));
    const raw = new Redis(server.url);
    await raw.publish(`${prefix}x:y`, "not a frame");
    await raw.publish(`${prefix}x:y`, `other\n[{"v":1,"id":"x:y","args":[],"kwargs":{"__proto__":1},"messageId":"m1","timestamp":1,"hops":["o"]}]`);
    await raw.publish(`${prefix}x:y`, `other\n[{"v":1,"id":"x:y","args":[1],"kwargs":{},"messageId":"m2","timestamp":1,"hops":["o"]}]`);
    await waitFor(() => got.length === 1, "the valid message");
    assert.equal(link.stats.rejected, 2);
    assert.deepEqual(errors.map((error) => error.code), ["INVALID_ENVELOPE", "INVALID_ENVELOPE"]);
    raw.disconnect();
    await link.close();
  });

  it("carries messages between processes both ways", async () => {
    const prefix = `proc-${randomUUID()}:`;
    const { bus, link } = await linkedBus(prefix);
    const got: Message[] = [];
    bus.follow("peer:pong", (m) => void got.push(m));
    const peer = runFixture("link-peer.ts", [server.url, prefix]);
    await peer.line("ready");
    bus.twitter("peer:ping", 1);
    await waitFor(() => got.length === 1, "pong from the child process");
    assert.deepEqual(got[0]?.args, [2]);
    assert.notEqual(got[0]?.hops[0], bus.id, "made in the other process");
    assert.equal(await peer.exit(), 0);
    await link.close();
  });

  it("buffers while Redis is unreachable and reports it, then delivers", async () => {
    const own = await startRedis({ own: true });
    const prefix = `down-${randomUUID()}:`;
    const a = new Bus();
    const b = new Bus();
    // The first retry comes a second after the failure: by then b is subscribed again (pub/sub is at
    // most once, so a retry published before b's PSUBSCRIBE would be lost, and the spec flaky).
    const la = await RedisLink.connect({ bus: a, connection: own.url, prefix, retryDelay: { initial: 1_000, max: 1_000 } });
    const codes: string[] = [];
    la.on("error", (error) => void codes.push(error.code));
    const got: number[] = [];
    b.follow("down:*", (m) => void got.push(m.args[0] as number));
    await own.kill();
    a.twitter("down:x", 1);
    await waitFor(() => la.isDown, "link down");
    await own.restart();
    const lb = await RedisLink.connect({ bus: b, connection: own.url, prefix });
    await waitFor(() => got.length === 1, "the buffered message after the restart", 10_000);
    assert.ok(codes.includes("LINK_DOWN"));
    await la.close();
    await lb.close();
    await own.stop();
  });
});
