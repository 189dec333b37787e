// Red team (r19): SEND_FINISH carries the sends made in the tick a reply or close goes out in that
// script call. What a channel sends to one channel keeps the order the calls were made in, whichever
// call carries it.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";

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
});
