// Red team r22: the persist file's compaction fails while the broker runs (the disk full; here the temp
// file's path is a directory, the same failure of a write root cannot be stopped from making).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { heldInLog } from "../../helpers/persist-file.js";
import { waitFor } from "../../helpers/wait-for.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-r22-compact-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("zeromq broker: red team r22 (compaction failing)", () => {
  it("red team: a compaction that fails is not tried again on every acknowledgement (an error and a rewrite of everything held per ack batch)", {
    timeout: 30_000,
  }, async (t) => {
    const persistFile = join(dir, "acks.log");
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), persistFile, fsync: "none" });
    const failures: Error[] = [];
    broker.on("error", (error) => {
      if (error.name === "PersistError") failures.push(error);
    });
    mkdirSync(`${persistFile}.compact`);
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const worker = new Bus();
    worker.follow("job:*", () => undefined);
    const workerLink = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"] });
    const sender = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"], acknowledge: ["job:*"] });
    t.after(async () => {
      await sender.close();
      await workerLink.close();
      broker.close();
    });
    for (let i = 0; i < 3_000; i++) {
      sender.bus.twitter("job:run", i);
      if (i % 100 === 99) await waitFor(() => broker.stats.acked >= i + 1 - 100, "acknowledgements keeping up", 15_000);
    }
    await waitFor(() => broker.stats.acked === 3_000 && broker.held === 0, "all 3,000 acknowledged", 20_000);
    // Compaction is due past 1,000 records; it fails every time it is tried.
    assert.ok(failures.length >= 1, "the failing compaction is reported");
    assert.ok(failures.length <= 5, `tried (and reported) ${failures.length} times for 3,000 acknowledgements`);
    assert.deepEqual(heldInLog(persistFile), [], "the log itself is still right: nothing held");
  });
});
