// Red team (r21): the messageIds a bridge server gives the messages of berryMQ 0.3 clients (which send
// none) were `client@<bus id>/<n>`, n counted from 1: whoever saw one on a link could send junk under the
// next ones first (the server's own bus then dropped the real ones as duplicates), and a server restarted
// under the same bus id started again at 1 (its peers dropped its first messages). RemoteQueueClient put
// its token (its credential) in the messageIds of what it pulled from a 0.3 server, and they travel on.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { Redis } from "ioredis";
import { type BridgeServer, RemoteQueueClient, serve } from "../../../bridges/jsonrpc/index.js";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { spyOnMessageIds } from "../../helpers/frame-spy.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { startLegacyNode } from "./peer-process.js";
import { post } from "./raw-http.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

/** A berryMQ 0.3 client of `server`: connect_oneway, then send_message of `s:x` with one argument. */
async function legacyClient(server: BridgeServer): Promise<(arg: unknown) => Promise<unknown>> {
  const token = ((await post(server.url, { id: null, method: "connect_oneway", params: [60] })).body as { result: string })
    .result;
  return async (arg) => (await post(server.url, { id: null, method: "send_message", params: [token, "s:x", [arg], {}] })).body;
}

it("red team: junk published on Redis under the messageIds predicted for a 0.3 client's next messages does not suppress them", async () => {
  const prefix = `rt21-${randomUUID()}:`;
  const bus = new Bus({ id: `bridge-${randomUUID()}` });
  const far = new Bus();
  const server = await serve({ bus, port: 0 });
  const here = await RedisLink.connect({ bus, connection: redis.url, prefix, exportFilters: ["s:*"], importFilters: ["s:*"] });
  const there = await RedisLink.connect({ bus: far, connection: redis.url, prefix, importFilters: ["s:*"] });
  const spy = new Redis(redis.url);
  const forger = new Redis(redis.url);
  try {
    const seen = await spyOnMessageIds(spy, prefix);
    const real: unknown[] = [];
    const farReal: unknown[] = [];
    bus.follow("s:*", (message) => void (message.args[0] === "junk" ? undefined : real.push(message.args[0])));
    far.follow("s:*", (message) => void (message.args[0] === "junk" ? undefined : farReal.push(message.args[0])));
    const send = await legacyClient(server);
    await send(0);
    await waitFor(() => seen.length === 1 && farReal.length === 1, "the first message, seen by the spy", 5_000);
    const last = seen[0] as string;
    const digits = /\d+$/.exec(last.slice(last.lastIndexOf("/") + 1))?.[0] ?? "0";
    const base = last.slice(0, last.lastIndexOf("/") + 1);
    const forged = [1, 2, 3, 4, 5].map((ahead) =>
      JSON.stringify({
        v: 1,
        id: "s:x",
        args: ["junk"],
        kwargs: {},
        messageId: `${base}${Number(digits) + ahead}`,
        timestamp: 1,
        hops: [base.slice(0, -1)],
      }),
    );
    await forger.publish(`${prefix}s:x`, `forger\n[${forged.join(",")}]`);
    await sleep(300);
    for (let i = 1; i <= 5; i++) await send(i);
    // Before: the bridge's own bus had injected the junk first and dropped all five.
    await waitFor(() => farReal.length === 6, "the five real messages far away", 3_000).catch(() => {});
    assert.deepEqual(real, [0, 1, 2, 3, 4, 5], `ids seen: ${seen.join(" ")}`);
    assert.deepEqual(farReal, [0, 1, 2, 3, 4, 5]);
  } finally {
    spy.disconnect();
    forger.disconnect();
    await Promise.all([here.close(), there.close()]);
    await server.close();
  }
});

it("red team: a bridge server restarted under the same bus id: its 0.3 clients' messages still reach its peers", async () => {
  const prefix = `rt21-${randomUUID()}:`;
  const id = `bridge-${randomUUID()}`;
  const far = new Bus();
  const there = await RedisLink.connect({ bus: far, connection: redis.url, prefix, importFilters: ["s:*"] });
  try {
    const got: unknown[] = [];
    far.follow("s:*", (message) => void got.push(message.args[0]));
    for (const run of [1, 2]) {
      const bus = new Bus({ id });
      const server = await serve({ bus, port: 0 });
      const here = await RedisLink.connect({ bus, connection: redis.url, prefix, exportFilters: ["s:*"] });
      const send = await legacyClient(server);
      for (let i = 0; i < 3; i++) await send(`${run}-${i}`);
      await waitFor(() => got.length === run * 3, `run ${run}'s messages`, 3_000).catch(() => {});
      await here.close();
      await server.close();
    }
    // Before: the restarted server's messages had the first one's ids, and were dropped as duplicates.
    assert.deepEqual(got, ["1-0", "1-1", "1-2", "2-0", "2-1", "2-2"]);
  } finally {
    await there.close();
  }
});

it("red team: a message RemoteQueueClient pulls from a berryMQ 0.3 server does not carry its token in its messageId", async () => {
  const node = await startLegacyNode({});
  const queue = await RemoteQueueClient.connect(node.url, { filter: "task:*" });
  try {
    node.command({ cmd: "twitter", id: "task:run", args: [7] });
    const task = await queue.get({ timeout: 5_000 });
    assert.deepEqual(task.args, [7]);
    // The stand-in's tokens are UUIDs. Before: `0.3-queue@<host>/<token>/1`.
    assert.doesNotMatch(task.messageId, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/, task.messageId);
  } finally {
    await queue.close();
    await node.stop();
  }
});
