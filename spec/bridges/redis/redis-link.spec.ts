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
    assert.deepEqual(subscriptionPatterns("p:", ["job:*"]), ["p:job:*", "p:job@*:*", "p:\\*:*", "p:\\*@*:*"]);
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

  it("a filter without a namespace (job:*) passes every namespace, as Link filters do", async () => {
    const prefix = `ns-any-${randomUUID()}:`;
    const sender = await linkedBus(prefix);
    const receiver = await linkedBus(prefix, ["job:*"]);
    const got: string[] = [];
    receiver.bus.follow("*:*", (m) => void got.push(m.id));
    receiver.bus.follow("*@ns:*", (m) => void got.push(m.id));
    sender.bus.twitter("job@ns:run");
    sender.bus.twitter("job:run");
    sender.bus.twitter("mail@ns:run");
    await waitFor(() => got.length === 2, "both job messages");
    await sleep(100);
    assert.deepEqual(got.sort(), ["job:run", "job@ns:run"]);
    await sender.link.close();
    await receiver.link.close();
  });

  it("a filter with a namespace (job@ns:*) gets that namespace's messages, and only those", async () => {
    assert.deepEqual(subscriptionPatterns("p:", ["job@ns:*"]), ["p:job@ns:*", "p:\\*@ns:*"]);
    const prefix = `ns-${randomUUID()}:`;
    const sender = await linkedBus(prefix);
    const receiver = await linkedBus(prefix, ["job@ns:*"]);
    const got: string[] = [];
    receiver.bus.follow("job@ns:*", (m) => void got.push(m.id));
    sender.bus.twitter("job@other:run");
    sender.bus.twitter("job:run");
    sender.bus.twitter("job@ns:run");
    sender.bus.twitter("*@ns:stop");
    await waitFor(() => got.length === 2, `two messages of namespace ns, got ${got.join(",")}`);
    await sleep(100);
    assert.deepEqual(got, ["job@ns:run", "*@ns:stop"]);
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

  it("a large frame (sent as bytes) carries non-ASCII text intact", async () => {
    const prefix = `utf-${randomUUID()}:`;
    const sender = await linkedBus(prefix, []);
    const receiver = await linkedBus(prefix, ["text:x"]);
    const got: unknown[] = [];
    receiver.bus.follow("text:x", (m) => void got.push(m.args[0]));
    const sent = Array.from({ length: 300 }, (_, n) => `ünïcode ✓ 🚀 ${n}`);
    for (const text of sent) sender.bus.twitter("text:x", text);
    await waitFor(() => got.length === sent.length, `${sent.length} messages`);
    assert.deepEqual(got, sent);
    await sender.link.close();
    await receiver.link.close();
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
    await raw.publish(
      `${prefix}x:y`,
      `other\n[{"v":1,"id":"x:y","args":[],"kwargs":{"__proto__":1},"messageId":"m1","timestamp":1,"hops":["o"]}]`,
    );
    await raw.publish(
      `${prefix}x:y`,
      `other\n[{"v":1,"id":"x:y","args":[1],"kwargs":{},"messageId":"m2","timestamp":1,"hops":["o"]}]`,
    );
    await waitFor(() => got.length === 1, "the valid message");
    assert.equal(link.stats.rejected, 2);
    assert.deepEqual(
      errors.map((error) => error.code),
      ["INVALID_ENVELOPE", "INVALID_ENVELOPE"],
    );
    raw.disconnect();
    await link.close();
  });

  it("skips a frame only when its origin line is exactly this bus's id (non-ASCII ids included), and counts nothing for it", async () => {
    const prefix = `origin-${randomUUID()}:`;
    const id = `bús-ü-${randomUUID()}`;
    const bus = new Bus({ id });
    const link = await RedisLink.connect({ bus, connection: server.url, prefix });
    const got: unknown[] = [];
    bus.follow("o:*", (m) => void got.push(m.args[0]));
    const raw = new Redis(server.url);
    const frame = (origin: string, n: number): string =>
      `${origin}\n[{"v":1,"id":"o:k","args":[${n}],"kwargs":{},"messageId":"m-${n}-${randomUUID()}","timestamp":1,"hops":["h"]}]`;
    await raw.publish(`${prefix}o:k`, frame(id, 1));
    await raw.publish(`${prefix}o:k`, `${id}\nnot JSON: skipped before parsing`);
    await raw.publish(`${prefix}o:k`, frame(`${id}x`, 2));
    await raw.publish(`${prefix}o:k`, frame(id.slice(0, -1), 3));
    await raw.publish(`${prefix}o:k`, frame(`x${id}`, 4));
    // The same characters in another encoding (ü as u + combining diaeresis): another id.
    await raw.publish(`${prefix}o:k`, frame(id.replace("ü", "u\u0308"), 5));
    await raw.publish(`${prefix}o:k`, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(frame("", 6))]));
    await waitFor(() => got.length === 5, "the frames of other origins");
    assert.deepEqual(got, [2, 3, 4, 5, 6]);
    assert.equal(link.stats.rejected, 0);
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

  it('importFilters: "followers": the PSUBSCRIBE set follows the bus\'s followers as they come and go', async () => {
    const prefix = `fol-${randomUUID()}:`;
    const sender = await linkedBus(prefix);
    const bus = new Bus();
    const link = await RedisLink.connect({ bus, connection: server.url, prefix, importFilters: "followers" });
    // Following nothing, the link still listens for answers to its own requests (berrymq-reply:*).
    const base = [...link.patterns].sort();
    assert.ok(base.every((pattern) => !pattern.includes("orders")));
    const spy = new Redis(server.url);
    const baseCount = Number(await spy.pubsub("NUMPAT"));
    const got: string[] = [];
    const stop = bus.follow("orders:*", (m) => void got.push(m.id));
    await waitFor(() => link.patterns.length > base.length, "a pattern for orders:*");
    assert.ok(link.patterns.includes(`${prefix}orders:*`) && link.patterns.includes(`${prefix}orders@*:*`), link.patterns.join());
    assert.ok(Number(await spy.pubsub("NUMPAT")) > baseCount, "orders:* subscribed in Redis");
    // Redis has the subscription: a message published now arrives.
    for (let tries = 0; got.length === 0; tries++) {
      assert.ok(tries < 50, "orders:new arrives");
      sender.bus.twitter("orders:new");
      await sleep(50);
    }
    stop();
    await waitFor(() => link.patterns.length === base.length, "back to the answers' patterns once nobody follows");
    assert.deepEqual([...link.patterns].sort(), base);
    await sleep(50);
    assert.equal(Number(await spy.pubsub("NUMPAT")), baseCount, "unsubscribed in Redis too");
    spy.disconnect();
    await sender.link.close();
    await link.close();
  });

  it("RedisLink.connect takes a client made with lazyConnect: true, or by another copy of ioredis, and never falls back to 6379", async () => {
    const lazy = new Redis(server.url, { lazyConnect: true });
    const prefix = `lz-${randomUUID()}:`;
    const bus = new Bus();
    const link = await RedisLink.connect({ bus, connection: lazy, prefix });
    assert.equal(lazy.status, "wait");
    await link.close();
    // What another copy of ioredis hands over: same methods, another class. Duplicated, not mistaken for options.
    const foreign = {
      status: "wait",
      options: { host: "127.0.0.1", port: server.port },
      duplicate: (overrides: object) => new Redis(server.url, overrides),
    };
    const viaForeign = await RedisLink.connect({ bus, connection: foreign as unknown as Redis, prefix });
    await viaForeign.close();
    await assert.rejects(RedisLink.connect({ bus, connection: 42 as unknown as string }), /invalid connection 42/);
    bus.close();
  });

  it("buffers while Redis is unreachable and reports it, then delivers", async () => {
    const own = await startRedis({ own: true });
    const prefix = `down-${randomUUID()}:`;
    const a = new Bus();
    const b = new Bus();
    // The first retry comes a second after the failure: by then b is subscribed again (pub/sub is at
    // most once, so a retry published before b's PSUBSCRIBE would be lost, and the spec flaky).
    // The client path (replylessPublish: false): the default replyless socket may take a message sent
    // just after the kill, before its close event, and hold it unconfirmed instead of failing (no
    // LINK_DOWN); that path has its own kill-and-restart spec in replyless-publish.spec.ts.
    const la = await RedisLink.connect({ bus: a, connection: own.url, prefix, retryDelay: { initial: 1_000, max: 1_000 }, replylessPublish: false });
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
