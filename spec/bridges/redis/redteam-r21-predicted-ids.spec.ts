// Red team (r21): a process on the same Redis prefix reads a bus's messageIds and publishes junk under the
// ids it predicts that bus will use next; receivers drop a messageId they have seen, so the junk would
// take the real messages' place.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { Redis } from "ioredis";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { spyOnMessageIds } from "../../helpers/frame-spy.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

// The attacker's guess: the id seen, its last run of digits counted on by `ahead`.
function predicted(seen: string, ahead: number): string {
  const digits = /\d+(?=\D*$)/.exec(seen);
  if (digits === null) return `${seen}${ahead}`;
  const next = (BigInt(digits[0]) + BigInt(ahead)).toString().padStart(digits[0].length, "0");
  return `${seen.slice(0, digits.index)}${next}${seen.slice(digits.index + digits[0].length)}`;
}

it("red team: junk published first under the messageIds a bus will use next (as predicted from its last one) does not suppress its real messages", async () => {
  const prefix = `rt21-${randomUUID()}:`;
  const sender = new Bus({ id: `sender-${randomUUID()}` });
  const receiver = new Bus();
  const out = await RedisLink.connect({ bus: sender, connection: server.url, prefix, exportFilters: ["s:*"] });
  const into = await RedisLink.connect({ bus: receiver, connection: server.url, prefix, importFilters: ["s:*"] });
  const spy = new Redis(server.url);
  const forger = new Redis(server.url);
  try {
    const seen = await spyOnMessageIds(spy, prefix);
    const real: unknown[] = [];
    const junk: unknown[] = [];
    receiver.follow("s:*", (message) => void (message.args[0] === "junk" ? junk : real).push(message.args[0]));
    sender.twitter("s:x", 0);
    await waitFor(() => seen.length === 1 && real.length === 1, "the first message, seen by the spy", 5_000);
    const last = seen[0] as string;
    const forged = [1, 2, 3, 4, 5].map((ahead) =>
      JSON.stringify({
        v: 1,
        id: "s:x",
        args: ["junk"],
        kwargs: {},
        messageId: predicted(last, ahead),
        timestamp: 1,
        hops: [sender.id],
      }),
    );
    await forger.publish(`${prefix}s:x`, `forger\n[${forged.join(",")}]`);
    await waitFor(() => junk.length === 5, "the junk", 5_000);
    for (let i = 1; i <= 5; i++) sender.twitter("s:x", i);
    // Before: all five real messages were dropped as duplicates of the junk.
    await waitFor(() => real.length === 6, "the five real messages", 3_000).catch(() => {});
    await sleep(100);
    assert.deepEqual(real, [0, 1, 2, 3, 4, 5], `ids seen: ${seen.join(" ")}`);
  } finally {
    spy.disconnect();
    forger.disconnect();
    await Promise.all([out.close(), into.close()]);
  }
});
