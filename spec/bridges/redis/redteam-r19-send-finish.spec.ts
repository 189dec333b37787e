// Red team (r19): SEND_FINISH carries the sends made in the tick a reply or close goes out in that
// script call. What a channel sends to one channel keeps the order the calls were made in, whichever
// call carries it.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { withClient } from "../../helpers/redis-probe.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

async function pair(): Promise<{ client: DurableChannel; worker: DurableChannel; end: () => Promise<void> }> {
  const prefix = `rt2-${randomUUID()}:{durable}:`;
  const client = await DurableChannel.open("client", { connection: server.url, prefix });
  const worker = await DurableChannel.open("worker", { connection: server.url, prefix });
  return { client, worker, end: async () => void (await Promise.all([client.end(), worker.end()])) };
}

describe("durable channel SEND_FINISH: red team r19", () => {
  for (const context of ["a promise callback", "a timer callback"] as const) {
    it(`red team: a reply then a send to the same channel, made in one tick from ${context}, arrive in that order`, async (t) => {
      const { client, worker, end } = await pair();
      t.after(end);
      for (let round = 0; round < 5; round++) {
        await client.send(`request ${round}`, { to: "worker" });
        const request = await worker.receive({ timeout: 5_000 });
        const both = (): Promise<unknown> =>
          Promise.all([worker.reply(request, `reply ${round}`), worker.send(`after ${round}`, { to: "client" })]);
        if (context === "a promise callback") await both();
        else await new Promise((resolve, reject) => setTimeout(() => both().then(resolve, reject), 0));
        const first = await client.receive({ timeout: 5_000 });
        const second = await client.receive({ timeout: 5_000 });
        assert.deepEqual([first.content, second.content], [`reply ${round}`, `after ${round}`], "the reply was made first");
        await client.close(first);
        await client.close(second);
      }
    });
    it(`red team: a send then a reply to the same channel, made in one tick from ${context}, arrive in that order`, async (t) => {
      const { client, worker, end } = await pair();
      t.after(end);
      for (let round = 0; round < 5; round++) {
        await client.send(`request ${round}`, { to: "worker" });
        const request = await worker.receive({ timeout: 5_000 });
        const both = (): Promise<unknown> =>
          Promise.all([worker.send(`before ${round}`, { to: "client" }), worker.reply(request, `reply ${round}`)]);
        if (context === "a promise callback") await both();
        else await new Promise((resolve, reject) => setTimeout(() => both().then(resolve, reject), 0));
        const first = await client.receive({ timeout: 5_000 });
        const second = await client.receive({ timeout: 5_000 });
        assert.deepEqual([first.content, second.content], [`before ${round}`, `reply ${round}`], "the send was made first");
        await client.close(first);
        await client.close(second);
      }
    });
  }

  it("red team: the command connection cut while a SEND_FINISH waits in Redis: the reply and the sends arrive once each, every call answered", async (t) => {
    const { client, worker, end } = await pair();
    t.after(end);
    for (let round = 0; round < 3; round++) {
      await client.send(`request ${round}`, { to: "worker" });
      const request = await worker.receive({ timeout: 5_000 });
      // Redis holds writes (the script call waits in its queue), the connection is cut under it, then
      // Redis goes on: ioredis resends the call on its new connection.
      await withClient(server.port, async (admin) => {
        await admin.call("CLIENT", "PAUSE", "2000", "WRITE");
        const calls = Promise.all([
          worker.send(`a ${round}`, { to: "client" }),
          worker.reply(request, `reply ${round}`),
          worker.send(`b ${round}`, { to: "client" }),
        ]);
        calls.catch(() => undefined);
        await sleep(100);
        const list = String(await admin.call("CLIENT", "LIST"));
        const ids = [...list.matchAll(new RegExp(`\\bid=(\\d+) .*\\bname=berrymq-durable:${worker.consumer}\\b`, "g"))].map((m) =>
          String(m[1]),
        );
        assert.equal(ids.length, 1, "the worker's command connection");
        await admin.call("CLIENT", "KILL", "ID", ids[0] as string);
        await admin.call("CLIENT", "UNPAUSE");
        await calls;
      });
      const got: unknown[] = [];
      for (;;) {
        const message = await client.receive({ timeout: 500 }).catch(() => undefined);
        if (message === undefined) break;
        got.push(message.content);
        await client.close(message);
      }
      // In the order made: "a" rides in the reply's call, "b" (made after the reply) in a call after it.
      assert.deepEqual(got, [`a ${round}`, `reply ${round}`, `b ${round}`]);
    }
  });

  it("red team: end() in the tick a reply and sends are made: all answered and all arrive", async () => {
    const { client, worker } = await pair();
    try {
      await client.send("request", { to: "worker" });
      const request = await worker.receive({ timeout: 5_000 });
      const calls = Promise.all([
        worker.reply(request, "reply"),
        worker.send("x", { to: "client" }),
        worker.send("y", { to: "client" }),
      ]);
      await worker.end();
      const [reply, x, y] = await calls;
      assert.ok(reply.id && x.id && y.id);
      const got: unknown[] = [];
      for (let i = 0; i < 3; i++) got.push((await client.receive({ timeout: 5_000 })).content);
      assert.deepEqual(got, ["reply", "x", "y"]);
    } finally {
      await Promise.all([client.end(), worker.end()]);
    }
  });
});
