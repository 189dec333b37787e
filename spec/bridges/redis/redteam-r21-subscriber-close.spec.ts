// Red team (r21): Subscriber.close() waited for its QUIT's answer with no bound, so a hung Redis (SIGSTOP:
// connected, answering nothing) held it for ever.
import assert from "node:assert/strict";
import { it } from "node:test";
import { openClient } from "../../../bridges/redis/connection.js";
import { Subscriber } from "../../../bridges/redis/subscriber.js";
import { startRedis } from "../../helpers/redis-server.js";
import { settlesWithin } from "../../helpers/wait-for.js";

it("red team: Subscriber.close(grace) returns within its grace while Redis is hung, the connection cut", async () => {
  const own = await startRedis({ own: true });
  const nodes = openClient(own.url);
  const subscriber = new Subscriber(own.url, "rt21-subscriber", nodes);
  await subscriber.psubscribe(["rt21:*"]);
  const pid = own.pid as number;
  process.kill(pid, "SIGSTOP");
  try {
    const started = performance.now();
    // Before: the QUIT was awaited for ever.
    assert.ok(await settlesWithin(subscriber.close(300), 5_000), "close() returns while Redis is hung");
    const took = performance.now() - started;
    assert.ok(took >= 250 && took < 2_000, `it waited for the QUIT's answer first, then cut (${Math.round(took)} ms)`);
  } finally {
    process.kill(pid, "SIGCONT");
    nodes.disconnect();
    await own.stop();
  }
});
