// Red team r30: send() and reply() checked only that JSON.stringify could write the content; the receiver
// checks more (parseDurableMessage: no __proto__ key, no constructor holding a prototype, at most 64 levels
// deep), and marks what fails it invalid: out of the deadlines, never given out. So a message with such
// content was acknowledged by send(), then dropped by the receiver that took it: its sender got neither a
// reply nor a timeout notice, ever (and a reply so made left its request answered by nothing). They are
// refused at send() and reply() now (InvalidArgumentError naming the place, nothing recorded); content a
// receiver accepts once written (NaN written as null, a Date as its text) still goes.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import type { BerryError } from "../../../lib/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

function nested(levels: number): unknown {
  let value: unknown = "core";
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

const REFUSED: readonly [string, unknown][] = [
  ["nested 80 levels deep", nested(80)],
  ["a __proto__ key", JSON.parse('{"job": 1, "__proto__": {"admin": true}}')],
  ["a constructor holding a prototype", { constructor: { prototype: { x: 1 } } }],
];

for (const [what, content] of REFUSED) {
  it(`red team: content with ${what} is refused by send() and reply(), not acknowledged and then dropped`, async (t) => {
    const prefix = `r30-${randomUUID()}:{durable}:`;
    const options = { connection: server.url, prefix };
    const sender = await DurableChannel.open("s", options);
    const worker = await DurableChannel.open("w", options);
    t.after(() => Promise.all([sender.end(), worker.end()]));
    const errors: BerryError[] = [];
    for (const channel of [sender, worker]) channel.on("error", (error) => void errors.push(error));
    await assert.rejects(sender.send(content, { to: "w", timeout: 300 }), { code: "INVALID_ARGUMENT" });
    const job = await sender.send("job", { to: "w", timeout: 5_000 });
    const got = await worker.receive({ timeout: 3_000 });
    assert.equal(got.id, job.id, "the refused message was never recorded: the next one is first");
    await assert.rejects(worker.reply(got, content), { code: "INVALID_ARGUMENT" });
    await worker.reply(got, "fine");
    const reply = await sender.receive({ timeout: 3_000 });
    assert.deepEqual([reply.kind, reply.inReplyTo, reply.content], ["reply", job.id, "fine"]);
    await sender.close(reply);
    assert.deepEqual(
      errors.map((error) => error.message),
      [],
    );
  });
}

it("red team: content a receiver accepts once written still goes: NaN (written null), a Date (its text), 64 levels", async (t) => {
  const prefix = `r30-${randomUUID()}:{durable}:`;
  const options = { connection: server.url, prefix };
  const sender = await DurableChannel.open("s", options);
  const worker = await DurableChannel.open("w", options);
  t.after(() => Promise.all([sender.end(), worker.end()]));
  const at = new Date(0);
  await sender.send({ n: Number.NaN, at, deep: nested(63) }, { to: "w" });
  const got = await worker.receive({ timeout: 3_000 });
  assert.deepEqual(got.content, { n: null, at: at.toISOString(), deep: nested(63) });
  await worker.close(got);
});
