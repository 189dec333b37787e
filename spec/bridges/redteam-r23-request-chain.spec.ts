// Red team r23: an asker three hops from the answerer, over three kinds of link in a row:
// A —PeerLink— B —RedisLink (a real redis-server)— C —BrokerLink (a real ZeroMQ broker)— D.
// Each ask runs once on D and its answer comes back to A only; talk() and balanced calls cross too; a
// bystander on the Redis hub that imports only what it follows sees no answer; a follower on D throwing
// a null-prototype object reaches A as a RemoteError naming D.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import type { Link } from "../../bridges/link.js";
import { RedisLink } from "../../bridges/redis/redis-link.js";
import { Broker, BrokerLink } from "../../bridges/zeromq/index.js";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { RemoteError } from "../../lib/request-errors.js";
import { freePort } from "../helpers/free-port.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";

describe("red team r23: requests along a chain of PeerLink, RedisLink and BrokerLink", () => {
  let redis: RedisServer;
  let broker: Broker;
  const buses = { A: new Bus({ id: "r23-A" }), B: new Bus({ id: "r23-B" }), C: new Bus({ id: "r23-C" }), D: new Bus({ id: "r23-D" }) };
  const bystander = new Bus({ id: "r23-X" });
  const links: Link[] = [];
  const closers: (() => Promise<void>)[] = [];
  let dRuns = 0;
  const bystanderSaw: string[] = [];

  before(async () => {
    redis = await startRedis();
    broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    for (const bus of [...Object.values(buses), bystander]) bus.on("error", () => {});
    const [serverA, serverB] = await Promise.all([serve({ bus: buses.A }), serve({ bus: buses.B })]);
    closers.push(() => serverA.close(), () => serverB.close());
    links.push(await PeerLink.connect(serverB.url, { bus: buses.A, server: serverA }));
    const prefix = `r23-chain-${randomUUID()}:`;
    links.push(await RedisLink.connect({ bus: buses.B, connection: redis.url, prefix }));
    links.push(await RedisLink.connect({ bus: buses.C, connection: redis.url, prefix }));
    links.push(await RedisLink.connect({ bus: bystander, connection: redis.url, prefix, importFilters: "followers" }));
    links.push(await BrokerLink.connect({ bus: buses.C, pubPort: broker.pubPort, recvPort: broker.recvPort }));
    links.push(await BrokerLink.connect({ bus: buses.D, pubPort: broker.pubPort, recvPort: broker.recvPort }));
    buses.D.follow("far:add", (m) => {
      dRuns++;
      return (m.args as number[]).reduce((x, y) => x + y, 0);
    });
    buses.D.follow("far:fail", () => Promise.reject(Object.create(null)));
    bystander.follow("near:*", () => "bystander");
    bystander.on("message", (m) => void bystanderSaw.push(m.id));
    // The chain needs a moment after the links start: ask until D answers.
    const deadline = Date.now() + 20_000;
    while ((await buses.A.ask("far:add", 0, within({ timeout: 300 })).catch(() => undefined)) !== 0) {
      if (Date.now() > deadline) throw new Error("D never answered A");
    }
  });

  after(async () => {
    for (const link of links.reverse()) await link.close();
    for (const close of closers) await close();
    broker?.close();
    await redis?.stop();
  });

  it("500 concurrent asks from A: each runs once on D and A gets its own answer; the bystander sees no answer", async () => {
    dRuns = 0;
    bystanderSaw.length = 0;
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => buses.A.ask<number>("far:add", i, 1_000, within({ timeout: 20_000 }))));
    assert.deepEqual(
      answers,
      Array.from({ length: 500 }, (_, i) => i + 1_000),
    );
    assert.equal(dRuns, 500);
    assert.equal(buses.A.pendingRequests, 0);
    assert.deepEqual(
      bystanderSaw.filter((id) => id.startsWith("berrymq-reply:")),
      [],
    );
  });

  it("talk() with within() and a balanced ask cross the chain; a failure on D reaches A as a RemoteError naming D", async () => {
    let callbacks = 0;
    const stop = buses.A.follow("far:sum", () => void callbacks++);
    assert.deepEqual(await buses.A.talk("far:add", "far:sum", 40, 2, within({ count: 1, timeout: 5_000 })), [42]);
    assert.equal(callbacks, 1);
    stop();
    await buses.A.request("far:add", 1, within({ balanced: true, timeout: 5_000 })); // discovery
    assert.equal(await buses.A.ask("far:add", 2, 3, within({ balanced: true, timeout: 5_000 })), 5);
    const failed = await buses.A.ask("far:fail", within({ timeout: 5_000 })).catch((e: unknown) => e);
    assert.ok(failed instanceof RemoteError && failed.bus === "r23-D" && failed.message.endsWith(": {}"), String(failed));
    assert.equal(buses.A.pendingRequests, 0);
  });
});
