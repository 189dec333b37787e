// r29 (a CI run's failure of the request conformance outage test over Redis): after an outage a RedisLink's
// publisher can be back before its subscriber. A request (or talk()) published then is answered while
// nobody here listens — pub/sub is at most once — and its answer is missed: the asker waits out its
// timeout although the far side answered. A batch holding a request now waits for the lost subscriber
// connection to be subscribed again (2 s at most) before it is published. Here only the subscriber is
// kept away: a forwarder drops its reconnections (named berrymq-link-sub:<bus id>) while the publisher's
// go through.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { within } from "../../../lib/request.js";
import { withClient } from "../../helpers/redis-probe.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { tappedForwarder } from "../jsonrpc/tapped-forwarder.js";

let server: RedisServer;
before(async () => {
  server = await startRedis({ own: true });
});
after(async () => {
  await server.stop();
});

it("red team: a request sent while the asking link's subscriber is lost waits for it, and gets its answer", { timeout: 30_000 }, async (t) => {
  const prefix = `r29-resub-${process.pid}:`;
  let keepSubscriberAway = false;
  const forwarder = await tappedForwarder(server.port, () => ({
    toTarget: (chunk, upstream) => {
      if (keepSubscriberAway && chunk.includes("berrymq-link-sub:r29-asker")) upstream.destroy();
      else upstream.write(chunk);
    },
  }));
  const answerer = new Bus({ id: "r29-answerer" });
  answerer.follow("svc:ping", () => "pong");
  const far = await RedisLink.connect({ bus: answerer, connection: server.url, prefix });
  const asker = new Bus({ id: "r29-asker" });
  const link = await RedisLink.connect({ bus: asker, connection: `redis://127.0.0.1:${new URL(forwarder.url).port}`, prefix });
  const reported: string[] = [];
  link.on("error", (error) => void reported.push(error.code));
  t.after(async () => {
    await link.close();
    await far.close();
    await forwarder.close();
  });
  assert.deepEqual(await asker.ask("svc:ping", within({ timeout: 5_000 })), "pong");

  keepSubscriberAway = true;
  await withClient(server.port, async (admin) => {
    const list = String(await admin.client("LIST"));
    const line = list.split("\n").find((entry) => entry.includes("name=berrymq-link-sub:r29-asker"));
    assert.ok(line !== undefined, `the asker's subscriber connection is listed:\n${list}`);
    await admin.client("KILL", "ID", (/\bid=(\d+)/.exec(line) as RegExpExecArray)[1] as string);
  });
  await waitFor(() => reported.includes("REDIS_MESSAGES_MAY_BE_LOST"), "the subscriber's loss reported", 10_000);
  const asked = asker.ask("svc:ping", within({ timeout: 6_000 })).then(
    (value) => value,
    (error: unknown) => error,
  );
  await sleep(400);
  keepSubscriberAway = false;
  assert.equal(await asked, "pong", "answered once the subscriber is back");
});
