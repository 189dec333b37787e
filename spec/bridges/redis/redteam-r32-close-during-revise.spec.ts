// Red team r32: the replyless socket opened again revises its unconfirmed batches first (CONFIG GET of the
// server's limits over the link's client). close() during that revise gave up at once: the batches were
// neither written nor counted lost (one error naming a count of batches). And a socket closed during a
// revise dropped it, the next socket's revise reporting a message over a lowered limit lost again.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { Redis } from "ioredis";
import { RedisLink } from "../../../bridges/redis/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { labelledRelay } from "./labelled-relay.js";

const RPUB = "berrymq-link-rpub:";
const PUB = "berrymq-link-pub:";

// A sender through a relay, a receiver straight to Redis (importing n:*).
async function setUp(t: TestContext) {
  const server = await startRedis({ own: true });
  t.after(() => server.stop());
  const relay = await labelledRelay(server.port);
  t.after(() => relay.close());
  const prefix = `r32-${randomUUID()}:`;
  const sender = new Bus();
  const reports: BerryError[] = [];
  sender.on("error", (error) => reports.push(error));
  const out = await RedisLink.connect({
    bus: sender,
    connection: `redis://127.0.0.1:${relay.port}`,
    prefix,
    closeTimeout: 2_000,
  });
  t.after(() => out.close());
  const receiver = new Bus();
  receiver.on("error", () => {}); // its subscriber's loss as the server stops
  const into = await RedisLink.connect({ bus: receiver, connection: server.url, prefix, importFilters: ["n:*"] });
  t.after(() => into.close());
  const got: number[] = [];
  receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
  sender.twitter("n:x", 0);
  await waitFor(() => got.length === 1, "message 0");
  await sleep(100); // its batch confirmed (a sync 5 ms after it)
  const raw = new Redis(server.url);
  t.after(() => raw.disconnect());
  return { relay, sender, out, got, reports, raw };
}

// The replyless socket holds `send`'s batch unconfirmed (its bytes held in the relay); both connections of
// the sender are then cut, and the client's new connection holds its CONFIG GETs: the new replyless socket,
// handshake done, waits for its revise.
async function reviseHeld(setup: Awaited<ReturnType<typeof setUp>>, send: () => void): Promise<void> {
  const { relay } = setup;
  relay.hold(RPUB);
  send();
  await sleep(50);
  relay.holdConfigGets = true;
  relay.cut(PUB);
  relay.cut(RPUB);
  await waitFor(() => relay.count(RPUB) === 1 && relay.held >= 1, "a new replyless socket, its revise held", 5_000);
  await sleep(200);
}

describe("RedisLink replyless: close() and a socket closed during a revise (red team r32)", () => {
  it("close() during a revise writes the batches once it is done, within closeTimeout", async (t) => {
    const setup = await setUp(t);
    const { relay, sender, out, got, reports } = setup;
    await reviseHeld(setup, () => {
      for (let i = 1; i <= 5; i++) sender.twitter("n:x", i);
    });
    const closed = out.close();
    await sleep(300);
    relay.release();
    await closed;
    // Before: close() gave up at once, messages 1-5 neither sent nor counted lost.
    await waitFor(() => got.length === 6, "messages 1-5", 3_000).catch(() => {});
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5], `reports: ${reports.map((error) => error.message)}`);
    assert.equal(out.stats.lost, 0);
  });

  it("close() during a revise that does not end within closeTimeout counts each message lost, reported", async (t) => {
    const setup = await setUp(t);
    const { sender, out, got, reports } = setup;
    await reviseHeld(setup, () => {
      for (let i = 1; i <= 5; i++) sender.twitter("n:x", i);
    });
    const started = performance.now();
    await out.close();
    // The README's bound on a Redis that answers nothing (2 x closeTimeout + 5 s), and room for a loaded machine.
    assert.ok(performance.now() - started < 2 * 2_000 + 5_000 + 2_000, "within the README's bound");
    // Before: stats.lost 0, the report naming 1 batch and no message.
    assert.equal(
      out.stats.lost + got.length - 1,
      5,
      `every message delivered or counted lost: got ${got}, reports ${reports.map((error) => error.message)}`,
    );
    if (out.stats.lost > 0)
      assert.ok(
        reports.some((error) => /confirming 1 published batches before close \(5 messages, counted lost/.test(error.message)),
      );
  });

  it("a socket closed during a revise: a message over a lowered limit is reported lost once", async (t) => {
    const setup = await setUp(t);
    const { relay, sender, out, got, reports, raw } = setup;
    await reviseHeld(setup, () => {
      sender.twitter("n:x", 1);
      sender.twitter("n:x", 2, "x".repeat(1_100_000));
      sender.twitter("n:x", 3);
      void raw.config("SET", "proto-max-bulk-len", "1mb");
    });
    // The socket whose revise is on its way closes; the next one's handshake is done before the release.
    relay.cut(RPUB);
    await waitFor(() => relay.count(RPUB) === 1, "another replyless socket", 5_000);
    await sleep(300);
    relay.release();
    await waitFor(() => got.length === 3, "messages 1 and 3", 5_000);
    await sleep(200);
    const unsendable = reports.filter((error) => error.code === "UNSENDABLE");
    // Before: 2 reports, stats.lost 2, for one message.
    assert.equal(unsendable.length, 1, `reports: ${reports.map((error) => error.message)}`);
    assert.equal(out.stats.lost, 1);
    assert.deepEqual(got, [0, 1, 3]);
  });
});
