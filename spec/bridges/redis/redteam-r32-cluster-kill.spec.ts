// Red team r32: a RedisLink on a Redis Cluster (where "auto" publishes over the ioredis client: no replyless
// socket on a Cluster) while a master is SIGKILLed mid-stream. PUBLISH has no key: the client sends each to
// some master, which copies it to every node over the cluster bus. Two kills: a master the receiver does
// not subscribe on (its PUBLISHes in flight fail and are retried: every message must arrive, or be
// reported by the sender), and the node the receiver subscribes on (it must report the loss, and
// subscribe again elsewhere). Either way no message may be missing without a report.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { RedisLink } from "../../../bridges/redis/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { QUICK_SYNC, type RedisCluster, startCluster } from "../../helpers/redis-cluster.js";
import type { RedisServer } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster(QUICK_SYNC);
});
after(async () => {
  await cluster?.stop();
});

// Streams n:x 1, 2, ... every 2 ms from a sender to a receiver while `kill` runs; what each side reported.
async function streamThrough(kill: (receiver: Bus) => Promise<unknown>) {
  const connection = { cluster: [...cluster.startupNodes] };
  const prefix = `r32c-${randomUUID()}:`;
  const sender = new Bus();
  const receiver = new Bus();
  const sent: BerryError[] = [];
  const heard: BerryError[] = [];
  sender.on("error", (error) => sent.push(error));
  receiver.on("error", (error) => heard.push(error));
  const out = await RedisLink.connect({ bus: sender, connection, prefix, bufferSize: 100_000 });
  const into = await RedisLink.connect({ bus: receiver, connection, prefix, importFilters: ["n:*"] });
  try {
    assert.equal(out.publishPath, "client");
    const got = new Set<number>();
    receiver.follow("n:*", (m) => void got.add(m.args[0] as number));
    let last = 0;
    let sending = true;
    const stream = (async () => {
      while (sending) {
        sender.twitter("n:x", ++last);
        await sleep(2);
      }
    })();
    await waitFor(() => got.size >= 50, "streaming");
    await kill(receiver);
    const atKill = last;
    await waitFor(() => [...got].some((n) => n > atKill + 50), "delivery after the kill", 20_000);
    sending = false;
    await stream;
    await waitFor(() => got.has(last), "the last message", 15_000);
    await sleep(500);
    const missing = Array.from({ length: last }, (_, i) => i + 1).filter((n) => !got.has(n));
    return { missing, last, sent, heard, out };
  } finally {
    await out.close();
    await into.close();
  }
}

// A master other than `other`.
async function masterBesides(other: RedisServer): Promise<RedisServer> {
  for (let i = 0; ; i++) {
    const master = await cluster.masterOf(`k${i}`);
    if (master.port !== other.port) return master;
  }
}

describe("RedisLink on a Redis Cluster: SIGKILL of a master mid-stream (red team r32)", () => {
  it("a master the receiver does not subscribe on: every message arrives (retried), or is reported by the sender", async () => {
    const { missing, last, sent, heard, out } = await streamThrough(async (receiver) => {
      const subscribedOn = await cluster.nodeWithClient(`berrymq-link-sub:${receiver.id}`);
      await cluster.fail(await masterBesides(subscribedOn));
    });
    const lossReports = heard.filter((error) => error.code === "REDIS_MESSAGES_MAY_BE_LOST").length;
    console.log(`cluster kill (other master): ${last} sent, ${missing.length} missing, sender stats ${JSON.stringify(out.stats)}, receiver loss reports ${lossReports}`);
    assert.ok(
      missing.length === 0 || lossReports > 0 || out.stats.lost > 0,
      `missing without a report: ${missing.slice(0, 20)}; sender reports: ${sent.map((error) => error.code)}`,
    );
  });

  it("the node the receiver subscribes on: the loss is reported, delivery resumes", async () => {
    const { missing, last, heard, out } = await streamThrough(async (receiver) => {
      await cluster.fail(await cluster.nodeWithClient(`berrymq-link-sub:${receiver.id}`));
    });
    const lossReports = heard.filter((error) => error.code === "REDIS_MESSAGES_MAY_BE_LOST").length;
    console.log(`cluster kill (receiver's node): ${last} sent, ${missing.length} missing, sender stats ${JSON.stringify(out.stats)}, receiver loss reports ${lossReports}`);
    assert.ok(lossReports >= 1, "the loss reported");
  });
});
