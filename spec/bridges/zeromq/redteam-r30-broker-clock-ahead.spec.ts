// Red team r30 (broker): a persist file written under a wall clock ahead of the one that reads it (the
// broker's clock stepped back after a kill -9, or the file moved to another machine). Its records' absolute
// times ("t" held at, "e" expires at) lie in the future.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { heldInLog } from "../../helpers/persist-file.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type BrokerChild, startBrokerChild } from "./broker-helpers.js";

const EXPIRY = 1_500;
const YEAR = 365 * 86_400_000;

describe("zeromq broker: red team r30 (persist file from a clock ahead)", () => {
  it("red team: a message held by a broker whose clock was a year ahead expires its expiry after the restart, not a year later", {
    timeout: 30_000,
  }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-r30-ahead-"));
    const file = join(dir, "held.log");
    const [pubPort, recvPort] = [await freePort(), await freePort()];
    const children: BrokerChild[] = [];
    const first = await startBrokerChild(pubPort, recvPort, file, { expiry: EXPIRY }, true);
    children.push(first);
    const sender = await BrokerLink.connect({
      bus: new Bus(),
      pubPort,
      recvPort,
      importFilters: ["none:none"],
      acknowledge: ["job:*"],
    });
    t.after(async () => {
      await sender.close();
      for (const child of children) await child.kill();
      rmSync(dir, { recursive: true, force: true });
    });
    sender.bus.twitter("job:lost", "nobody takes it");
    await waitFor(() => heldInLog(file).length === 1, "the message held and logged", 5_000);
    const [messageId] = heldInLog(file);
    await sleep(300); // its receipt reached the sender, which leaves: nothing sends the message again
    await sender.close();
    await first.kill(); // kill -9, before it expired
    // As that broker wrote it with its clock a year ahead.
    const lines = readFileSync(file, "utf8").split("\n");
    const ahead = lines.map((line) => {
      if (line === "") return line;
      const record = JSON.parse(line) as { m?: string; t?: number; e?: number };
      if (record.m === undefined) return line;
      return JSON.stringify({ ...record, t: (record.t as number) + YEAR, e: (record.e as number) + YEAR });
    });
    writeFileSync(file, ahead.join("\n"));
    const restartedAt = Date.now();
    const second = await startBrokerChild(pubPort, recvPort, file, { expiry: EXPIRY }, true);
    children.push(second);
    await waitFor(
      () => second.output().includes(`dead-letter ${messageId}`),
      "the message expired within its expiry of the restart",
      EXPIRY + 5_000,
    );
    assert.ok(Date.now() - restartedAt <= EXPIRY + 5_000);
    assert.deepEqual(heldInLog(file), [], "released from the log");
  });
});
