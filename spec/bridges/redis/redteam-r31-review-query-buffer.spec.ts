// Red team r31 review: Redis 7.0 closes a client whose query buffer passes client-query-buffer-limit (no
// stall, no protocol error): lowered at run time where CONFIG is refused (no revise learns it), a replyless
// batch over it was written again on every new socket and closed again, every 100 ms for ever (10 sockets a
// second, a MB each), every later message stuck behind it, nothing reported. A socket Redis closes while a
// batch's own sync is the oldest on its way now counts a refusal, as a stall does, once the link's client
// answers the probes; at the third the batch is dropped, reported.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisLink } from "../../../bridges/redis/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("RedisLink replyless, client-query-buffer-limit lowered at run time, CONFIG refused (red team r31 review)", () => {
  it("the batch over it is dropped and reported; the rest arrive", async (t) => {
    const config = `cfg-${randomUUID()}`;
    const server = await startRedis({ own: true, args: ["--rename-command", "CONFIG", config] });
    t.after(() => server.stop());
    const prefix = `r31-${randomUUID()}:`;
    const sender = new Bus();
    const reports: BerryError[] = [];
    sender.on("error", (error) => reports.push(error));
    const out = await RedisLink.connect({ bus: sender, connection: server.url, prefix, retryDelay: { initial: 20, max: 100 } });
    t.after(() => out.close());
    const receiver = new Bus();
    receiver.on("error", () => {});
    const into = await RedisLink.connect({ bus: receiver, connection: server.url, prefix, importFilters: ["n:*"] });
    t.after(() => into.close());
    const got: number[] = [];
    receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
    await sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    const raw = new Redis(server.url);
    t.after(() => raw.disconnect());
    await raw.call(config, "SET", "client-query-buffer-limit", "1mb");
    sender.twitter("n:x", 1, "x".repeat(1_100_000));
    sender.twitter("n:x", 2, "y".repeat(500_000));
    sender.twitter("n:x", 3);
    // Before: [0] for ever, nothing reported.
    await waitFor(() => got.length === 3, "messages 0, 2 and 3", 10_000);
    assert.deepEqual(got, [0, 2, 3]);
    assert.equal(out.publishPath, "replyless");
    const unsendable = reports.filter((error) => error.code === "UNSENDABLE");
    assert.equal(unsendable.length, 1, `one report: ${reports.map((error) => error.message)}`);
    assert.match(unsendable[0]?.message ?? "", /refused its batch on 3 connections/);
    assert.equal(out.stats.lost, 1);
  });

  // A good batch's socket closed by Redis counts nothing while Redis holds the probes as it holds the batch.
  it("the socket killed three times while Redis pauses writes (CLIENT PAUSE WRITE): nothing lost", async (t) => {
    const server = await startRedis({ own: true });
    t.after(() => server.stop());
    const prefix = `r31-${randomUUID()}:`;
    const sender = new Bus();
    const reports: BerryError[] = [];
    sender.on("error", (error) => reports.push(error));
    const out = await RedisLink.connect({ bus: sender, connection: server.url, prefix, retryDelay: { initial: 20, max: 100 } });
    t.after(() => out.close());
    const receiver = new Bus();
    receiver.on("error", () => {});
    const into = await RedisLink.connect({ bus: receiver, connection: server.url, prefix, importFilters: ["n:*"] });
    t.after(() => into.close());
    const got: number[] = [];
    receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
    await sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    const raw = new Redis(server.url);
    t.after(() => raw.disconnect());
    const socketId = async (): Promise<string | undefined> => {
      const list = (await raw.call("CLIENT", "LIST")) as string;
      return list.split("\n").find((line) => line.includes(`name=berrymq-link-rpub:${sender.id} `))?.match(/^id=(\d+)/)?.[1];
    };
    // Long enough for 3 sockets: each waits 3 s for the probes and 3 s for its revise (CONFIG GET queued
    // behind them on the client) before it writes the batch.
    await raw.call("CLIENT", "PAUSE", "22000", "WRITE");
    sender.twitter("n:x", 1);
    for (let i = 0; i < 3; i++) {
      // The socket open (again), its batch written and held by the pause.
      let id = await socketId();
      for (const deadline = Date.now() + 6_000; id === undefined && Date.now() < deadline; id = await socketId()) await sleep(50);
      assert.ok(id !== undefined, `socket ${i} open`);
      await sleep(i === 0 ? 200 : 3_500);
      await raw.call("CLIENT", "KILL", "ID", id);
    }
    await waitFor(() => got.length === 2, "message 1, after the pause", 30_000);
    assert.deepEqual(got, [0, 1]);
    assert.equal(out.stats.lost, 0);
    assert.deepEqual(reports.filter((error) => error.code === "UNSENDABLE"), []);
  });
});
