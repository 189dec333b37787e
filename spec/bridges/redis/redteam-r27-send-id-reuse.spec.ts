// Red team r27: send()'s `id` makes a resend safe (the SEND script finds the record and answers as the
// first call did). Before r27 it answered so for any record under the id, so a second message given the
// id of another one — to another channel (an order id used as the message id for "billing" and then for
// "shipping"), or from another one — resolved as sent and was never delivered: lost without a word. It
// now rejects with InvalidArgumentError naming the id, and records nothing; a resend (same from, same to)
// still gets the first call's answer, also once the message is finished or timed out. An id ending in
// "/timeout" (the id of a message's timeout notice) is refused too.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { InvalidArgumentError } from "../../../lib/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis({ own: true });
});
after(async () => {
  await redis?.stop();
});

it("red team: a send under the id of a message to another channel, or from another one, rejects naming the id; a resend still answers", {
  timeout: 30_000,
}, async (t) => {
  const prefix = `r27-${randomUUID()}:{durable}:`;
  const connection = redis.url;
  const open = (name: string): Promise<DurableChannel> => DurableChannel.open(name, { connection, prefix });
  const orders = await open("orders");
  const other = await open("other");
  const billing = await open("billing");
  const shipping = await open("shipping");
  t.after(() => Promise.all([orders, other, billing, shipping].map((channel) => channel.end())));
  const id = `order-${randomUUID()}`;
  const first = await orders.send({ bill: 1 }, { to: "billing", id });
  // The same message again (a retry): the first call's answer, nothing more queued.
  assert.deepEqual(await orders.send({ bill: 1 }, { to: "billing", id }), first);
  for (const [sender, to] of [
    [orders, "shipping"],
    [other, "billing"],
  ] as const) {
    await assert.rejects(sender.send({ ship: 1 }, { to, id }), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError, String(error));
      assert.equal(error.argument, "id");
      assert.equal(error.value, id);
      return true;
    });
  }
  const bill = await billing.receive({ timeout: 2_000 });
  assert.deepEqual(bill.content, { bill: 1 });
  await assert.rejects(billing.receive({ timeout: 300 }), { name: "ReceiveTimeoutError" });
  await assert.rejects(shipping.receive({ timeout: 300 }), { name: "ReceiveTimeoutError" });
  await billing.close(bill);
  // Finished: a resend still answers as the first call, another message under the id is still refused.
  assert.deepEqual(await orders.send({ bill: 1 }, { to: "billing", id }), first);
  await assert.rejects(orders.send({ ship: 1 }, { to: "shipping", id }), InvalidArgumentError);
  // Timed out: the same.
  const late = `order-${randomUUID()}`;
  const timed = await orders.send(1, { to: "billing", id: late, timeout: 50 });
  const notice = await orders.receive({ timeout: 5_000 });
  assert.equal(notice.kind, "timeout");
  await orders.close(notice);
  assert.deepEqual(await orders.send(1, { to: "billing", id: late, timeout: 50 }), timed);
  await assert.rejects(orders.send(1, { to: "shipping", id: late }), InvalidArgumentError);
  // A timeout notice's id is no message id of a user's.
  await assert.rejects(orders.send(1, { to: "billing", id: `${id}/timeout` }), InvalidArgumentError);
});
