import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { AckLog } from "../../../bridges/zeromq/ack-log.js";
import { Broker, BrokerLink, BrokerRefusedError } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-rt2-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("zeromq broker: red team r19 (persist replay)", () => {
  it("red team: a persist file written before the line check replays no line the check refuses", async (t) => {
    const file = join(dir, "pre-check.log");
    const now = Date.now();
    const payload = (identifier: string, messageId: string, n: number): string =>
      JSON.stringify(toCompactEnvelope(toEnvelope(createMessage({ identifier, args: [n], messageId, hops: ["old-bus"] }))));
    const record = (m: string, i: string, p: string): string =>
      `${JSON.stringify({ m, i, s: "0123456789abcdef", p, t: now, e: null })}\n`;
    // What a broker without the check held: a good line; a forgery holding the victim's id with its own
    // message; a line naming another identifier than its head; a line that is no envelope.
    writeFileSync(
      file,
      record("old-bus/1", "job:run", payload("job:run", "old-bus/1", 1)) +
        record("victim/7", "job:run", payload("job:run", "forger/9", 666)) +
        record("old-bus/2", "job:run", payload("job:other", "old-bus/2", 667)) +
        record("old-bus/3", "job:run", '{"hello":1}'),
    );
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), persistFile: file });
    const errors: BerryError[] = [];
    broker.on("error", (error) => void errors.push(error));
    const worker = new Bus({ id: "worker" });
    const runs: unknown[] = [];
    worker.follow("job:*", (m) => void runs.push(m.args[0]));
    const link = await BrokerLink.connect({
      bus: worker,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["job:*"],
    });
    link.on("error", () => undefined);
    t.after(async () => {
      await link.close();
      broker.close();
    });
    await waitFor(() => runs.length >= 1, "the good replayed message delivered");
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(runs, [1], "only the good line is delivered (a forgery would take the victim's id)");
    await waitFor(() => broker.held === 0, "nothing held: the good one acknowledged, the others refused", 5_000);
    const refused = errors.filter((error) => error instanceof BrokerRefusedError) as BrokerRefusedError[];
    assert.deepEqual(refused.map((error) => error.messageId).sort(), ["old-bus/2", "old-bus/3", "victim/7"]);
    assert.equal(broker.stats.invalid, 3);
    broker.close();
    const { log, held } = AckLog.open(file, "batch");
    log.close();
    assert.deepEqual(held, [], "the refused lines are released in the file");
  });
});
