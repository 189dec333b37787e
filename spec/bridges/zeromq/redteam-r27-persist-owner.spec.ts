// r27 red team: a second broker started on a running broker's persist file (a double start, a restart
// racing the old process) must not take the file from under it. It compacted the file (a rename over it)
// before binding: the running broker went on writing to the replaced, unlinked file, and every message it
// confirmed from then on was lost at its next restart.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Broker, PersistError } from "../../../bridges/zeromq/index.js";
import { heldInLog } from "../../helpers/persist-file.js";
import { waitFor } from "../../helpers/wait-for.js";
import { restartableBroker } from "./restartable-broker.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-r27-owner-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("zeromq broker: one broker per persist file (r27)", () => {
  it("a second broker on the same ports and persist file fails without touching the file; nothing confirmed is lost", async (t) => {
    const file = join(dir, "acks.log");
    const broker = await restartableBroker(t, file);
    const { ports } = broker;
    await assert.rejects(Broker.start({ ...ports, persistFile: file }));
    // On other ports it would have run beside it, compacting over its file: refused, naming the holder.
    await assert.rejects(Broker.start({ pubPort: 0, recvPort: 0, persistFile: file }), (error: unknown) => {
      assert.ok(error instanceof PersistError, String(error));
      assert.match(error.message, /in use by process \d+/);
      return true;
    });
    const sender = await broker.connectSender();
    sender.on("error", () => undefined);
    for (let i = 0; i < 3; i++) sender.bus.twitter("job:run", i);
    await waitFor(() => sender.backlog === 0 && sender.stats.sent === 3, "the broker confirmed the batch");
    assert.equal(heldInLog(file).length, 3, "the confirmed messages are in the persist file");
    await broker.kill();
    await broker.restart();
    const { runs } = await broker.connectWorker();
    await waitFor(() => runs.length === 3, "the three held messages after the restart", 5_000);
  });

  it("in one process: a second broker on an open persist file is refused; once the first closed, it starts", async () => {
    const file = join(dir, "here.log");
    const first = await Broker.start({ pubPort: 0, recvPort: 0, persistFile: file });
    await assert.rejects(Broker.start({ pubPort: 0, recvPort: 0, persistFile: file }), /in use by this process/);
    first.close();
    const second = await Broker.start({ pubPort: 0, recvPort: 0, persistFile: file });
    second.close();
  });
});
