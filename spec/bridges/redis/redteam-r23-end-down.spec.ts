// Red team (r23): end() while Redis is down returns at once and fails the calls on their way with
// ChannelEndedError, as documented. A send() made without an id could not be resent safely: the error did
// not say which id it had gone out with (it may have been recorded). It now names the message.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { ChannelEndedError } from "../../../bridges/redis/errors.js";
import { startRedis } from "../../helpers/redis-server.js";
import { settlesWithin, sleep } from "../../helpers/wait-for.js";

it("red team: end() while Redis is down fails the send, reply and close on their way with ChannelEndedError naming each message", {
  timeout: 60_000,
}, async (t) => {
  const own = await startRedis({ own: true });
  t.after(() => own.stop());
  const prefix = `r23-${randomUUID()}:{durable}:`;
  const sender = await DurableChannel.open("sender", { connection: own.url, prefix });
  const worker = await DurableChannel.open("worker", { connection: own.url, prefix });
  for (const channel of [sender, worker]) channel.on("error", () => {});
  await sender.send(1, { to: "worker" });
  await sender.send(2, { to: "worker" });
  const first = await worker.receive({ timeout: 5_000 });
  const second = await worker.receive({ timeout: 5_000 });
  await own.kill();
  const failure = (call: Promise<unknown>): Promise<unknown> =>
    call.then(
      () => "resolved",
      (error: unknown) => error,
    );
  const send = failure(sender.send(3, { to: "worker" }));
  const reply = failure(worker.reply(first, "r"));
  const close = failure(worker.close(second));
  await sleep(200);
  assert.ok(await settlesWithin(Promise.all([sender.end(), worker.end()]), 6_000), "end() returns while Redis is down");
  const sent = await send;
  assert.ok(sent instanceof ChannelEndedError, String(sent));
  assert.equal(typeof sent.messageId, "string", "the send's error names the id it went out with");
  assert.ok(sent.message.includes(sent.messageId as string), sent.message);
  for (const [outcome, message] of [
    [await reply, first],
    [await close, second],
  ] as const) {
    assert.ok(outcome instanceof ChannelEndedError, String(outcome));
    assert.equal(outcome.messageId, message.id, "the reply's or close's error names the message");
  }
});
