import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Bus } from "../../../lib/bus.js";
import { AckLog } from "../../../bridges/zeromq/ack-log.js";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";
import { restartableBroker } from "./restartable-broker.js";
import { heldInLog } from "../../helpers/persist-file.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-zmq-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("zeromq broker: persistence", () => {
  it("keeps unacknowledged messages across a SIGKILL and restart; clients reconnect by themselves", async (t) => {
    const file = join(dir, "acks.log");
    const broker = await restartableBroker(t, file);
    const sender = await broker.connectSender();
    sender.on("error", () => undefined); // the outage is expected
    for (let i = 0; i < 3; i++) sender.bus.twitter("job:run", i);
    await waitFor(() => sender.backlog === 0 && sender.stats.sent === 3, "the broker confirmed the batch");

    await broker.kill(); // SIGKILL: no shutdown, no flush
    await broker.restart();

    const { link: workerLink, runs } = await broker.connectWorker();
    await waitFor(() => runs.length === 3, "the three held messages after the restart", 10_000);
    assert.deepEqual(runs, [0, 1, 2]);

    // The sender's link found the new broker on its own.
    sender.bus.twitter("job:run", 3);
    await waitFor(() => runs.length === 4, "a message sent after the restart", 10_000);
    assert.deepEqual(runs, [0, 1, 2, 3]);
    await waitFor(() => workerLink.brokerStats.acksSent >= 4, "acks sent (a resend crossing an ack is acknowledged again)");
    // The worker having it does not mean the sender is done: a receipt later than sendTimeout (a loaded
    // machine) makes the link send the batch again, and the broker holds it again (logged) until the worker
    // acknowledges it again. Only once the sender's batch is confirmed does an empty log stay empty.
    await waitFor(
      () => sender.backlog === 0 && sender.stats.sent === 4,
      "the broker confirmed the message sent after the restart",
    );
    // An ack sent is not yet an ack the broker wrote: wait for the log before killing the broker.
    await waitFor(() => heldInLog(file).length === 0, "the broker to log the four acknowledgements");

    await sender.close();
    await workerLink.close();
    await broker.kill();
    // Everything was acknowledged: a replay holds nothing.
    const { log, held } = AckLog.open(file, "batch");
    log.close();
    assert.deepEqual(held, []);
  });

  it("loads a persist file written by protocol 1 (envelope objects) beside compact records, and delivers both", async (t) => {
    const file = join(dir, "protocol-1.log");
    const now = Date.now();
    const envelope = (n: number) =>
      toEnvelope(createMessage({ identifier: "job:run", args: [n], messageId: `old-bus/${n}`, hops: ["old-bus"] }));
    const record = (n: number, payload: unknown): string =>
      `${JSON.stringify({ m: `old-bus/${n}`, i: "job:run", s: "0123456789abcdef", p: JSON.stringify(payload), t: now, e: null })}\n`;
    // What the broker of the previous round wrote (payload: the envelope object), then one of this protocol.
    writeFileSync(file, record(1, envelope(1)) + record(2, toCompactEnvelope(envelope(2))));
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), persistFile: file });
    const worker = new Bus({ id: "worker" });
    const runs: number[] = [];
    worker.follow("job:run", (m) => void runs.push(m.args[0] as number));
    const link = await BrokerLink.connect({
      bus: worker,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["job:*"],
    });
    t.after(async () => {
      await link.close();
      broker.close();
    });
    await waitFor(() => runs.length === 2, "both replayed messages delivered");
    assert.deepEqual(runs.sort(), [1, 2]);
    await waitFor(() => broker.held === 0, "both acknowledged and released");
    assert.equal(link.stats.rejected, 0);
  });

  it("replays held messages, ignores a torn last line, and compacts acknowledged ones away", () => {
    const file = join(dir, "compact.log");
    const first = AckLog.open(file, "batch").log;
    const messages = Array.from({ length: 3_000 }, (_, i) => ({
      messageId: `m${i}`,
      identifier: "job:run",
      senderId: "0123456789abcdef",
      payload: `{"n":${i}}`,
      heldAt: 0,
    }));
    first.hold(messages);
    first.sync();
    first.acked(messages.slice(0, 2_999).map((m) => m.messageId));
    assert.ok(first.wantsCompaction(1), "6,000 records for 1 held message");
    first.compact(messages.slice(2_999));
    first.close();
    assert.equal(readFileSync(file, "utf8").trim().split("\n").length, 1, "compacted to the one held message");
    appendFileSync(file, '{"m":"torn","i":"job:ru'); // a crash mid-write
    const { log, held } = AckLog.open(file, "batch");
    log.close();
    assert.deepEqual(
      held.map((m) => m.messageId),
      ["m2999"],
    );
  });

  it("keeps each held message's deadline across a replay, Infinity (never) included", () => {
    const file = join(dir, "deadlines.log");
    const first = AckLog.open(file, "batch").log;
    first.hold([
      {
        messageId: "never",
        identifier: "a:b",
        senderId: "0123456789abcdef",
        payload: "{}",
        heldAt: 1,
        expiresAt: Number.POSITIVE_INFINITY,
      },
      { messageId: "soon", identifier: "a:b", senderId: "0123456789abcdef", payload: "{}", heldAt: 2, expiresAt: 5_000 },
      { messageId: "old", identifier: "a:b", senderId: "0123456789abcdef", payload: "{}", heldAt: 3 },
    ]);
    first.close();
    const { log, held } = AckLog.open(file, "batch");
    log.close();
    assert.deepEqual(
      held.map((m) => [m.messageId, m.heldAt, m.expiresAt]),
      [
        ["never", 1, Number.POSITIVE_INFINITY],
        ["soon", 2, 5_000],
        ["old", 3, undefined], // a record from before expiry existed: the broker gives it its default
      ],
    );
  });
});
