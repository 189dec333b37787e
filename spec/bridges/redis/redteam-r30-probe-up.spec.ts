// Red team r30: a RedisLink down whose buffer held only requests that ended (they timed out while Redis
// was down, and left unsent) stayed `isDown` until the bus sent something again or a message came from a
// far side (r29's known gap: a RedisLink has no neighbour list to probe with). Now it asks Redis itself (a
// PING on its publisher, with the backoff of its retries) and tells `up` once Redis answers, sending nothing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { within } from "../../../lib/request.js";
import { RequestTimeoutError } from "../../../lib/request-errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis({ own: true });
});
after(async () => {
  await server.stop();
});

describe("red team r30: a quiet RedisLink down with nothing left to send", () => {
  it("tells `up` once Redis answers again, with nothing sent, and asks no more after close()", async (t) => {
    const link = await RedisLink.connect({
      bus: new Bus(),
      connection: server.url,
      prefix: `r30-probe-${process.pid}:`,
      importFilters: ["r30:none"],
      retryDelay: { initial: 20, max: 100 },
    });
    link.on("error", () => {});
    // A failed assertion must not leave the link's client reconnecting, holding the spec's process.
    t.after(() => link.close());
    let ups = 0;
    let downs = 0;
    link.on("up", () => void ups++);
    link.on("down", () => void downs++);
    const sent = link.stats.sent;

    await server.kill();
    // Sent before the client saw its connection close, the asks would go out replyless (taken as sent).
    await sleep(500);
    const asks = [1, 2, 3].map((i) =>
      link.bus.ask("r30:ask", i, within({ timeout: 300 })).then(
        () => "answered",
        (error: unknown) => error,
      ),
    );
    for (const error of await Promise.all(asks)) assert.ok(error instanceof RequestTimeoutError, String(error));
    await waitFor(() => link.isDown && link.stats.ended === 3 && link.backlog === 0, "down, the ended asks taken out unsent", 10_000);
    assert.equal(downs, 1);

    // Redis down: the link keeps asking, bounded by retryDelay.max (at most one every 100 ms).
    const retries = link.stats.retries;
    await sleep(600);
    const asked = link.stats.retries - retries;
    assert.ok(asked >= 2 && asked <= 12, `${asked} probes in 600 ms`);
    assert.equal(link.isDown, true);

    await server.restart();
    await waitFor(() => !link.isDown, "the link up again without a send", 15_000);
    assert.equal(ups, 1);
    assert.equal(link.stats.sent, sent, "nothing sent: the ended requests stayed unsent");

    // Down again, then closed while it probes: no `up` after close().
    await server.kill();
    await sleep(500);
    await link.bus.ask("r30:ask", 4, within({ timeout: 300 })).catch(() => undefined);
    await waitFor(() => link.isDown && link.backlog === 0, "down again", 10_000);
    await link.close();
    const closedAt = link.stats.retries;
    await server.restart();
    await sleep(500);
    assert.equal(link.stats.retries, closedAt, "no probe after close()");
    assert.equal(ups, 1);
  });
});
