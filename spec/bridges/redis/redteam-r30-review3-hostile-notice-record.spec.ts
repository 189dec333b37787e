// Red team r30 review 3: r30 made every script read a message record through readRecord (another type
// under `P m:<id>`, written by another client, is no message), but a timeout notice is written under a
// fixed name, `P m:<id>/timeout`, with HSET. Another type there failed the sweep that timed the message
// out, after it had taken the message out of the deadlines and marked it timed out: the notice was never
// sent, the sender got neither a reply nor a timeout notice, and the sweep reported WRONGTYPE. Now the
// notice goes under another name then.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { Redis } from "ioredis";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import type { BerryError } from "../../../lib/errors.js";
import { startRedis } from "../../helpers/redis-server.js";

it("red team: another type under a message's notice name: its sender still gets the timeout notice", { timeout: 30_000 }, async (t) => {
  const server = await startRedis({ own: true });
  t.after(() => server.stop());
  const raw = new Redis(server.url);
  t.after(() => raw.disconnect());
  const prefix = `r30r3-${randomUUID()}:{durable}:`;
  const sender = await DurableChannel.open("s", { connection: server.url, prefix });
  t.after(() => sender.end());
  const errors: BerryError[] = [];
  sender.on("error", (error) => void errors.push(error));
  const id = randomUUID();
  await raw.set(`${prefix}m:${id}/timeout`, "hostile");
  await sender.send("ask", { to: "nobody", timeout: 200, id });
  const notice = await sender.receive({ timeout: 3_000 }).catch((error: unknown) => error);
  assert.ok(!(notice instanceof Error), `a notice came (${String(notice)}; reported: ${errors.map(String).join("; ")})`);
  assert.equal((notice as { kind: string }).kind, "timeout");
  assert.equal((notice as { inReplyTo?: string }).inReplyTo, id);
  await sender.close(notice as never);
  assert.deepEqual(errors.map(String), [], "no sweep failed");
  assert.equal(await raw.get(`${prefix}m:${id}/timeout`), "hostile", "another client's key is left as it is");
});
