// r32 red team: the persist file deleted, truncated or replaced while the broker runs (a /tmp cleaner, an
// operator's `: > acks.log`, a restored copy, a directory where the file was). The broker went on writing
// to the descriptor it had: to an unlinked inode, or over the records the truncation dropped. It confirmed
// every batch, and after a SIGKILL and restart the messages it had confirmed were silently gone.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type BrokerChild, rawClient, startBrokerChild } from "./broker-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-r32-replaced-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function line(messageId: string): string {
  return JSON.stringify(toCompactEnvelope(toEnvelope(createMessage({ identifier: "job:run", args: [messageId], messageId, hops: ["raw"] }))));
}

// A broker child on `file` and a raw publisher; `publish` sends one acknowledged job:run (nobody subscribes:
// held) and resolves with its receipt's error frame ("" when confirmed).
async function setUp(t: TestContext, file: string) {
  const ports = { pubPort: await freePort(), recvPort: await freePort() };
  let broker: BrokerChild = await startBrokerChild(ports.pubPort, ports.recvPort, file, undefined, true);
  t.after(() => broker.kill());
  const raw = await rawClient(ports.pubPort, ports.recvPort, "00000000000000ab");
  t.after(() => raw.close());
  await raw.hello(["none:none"]);
  let seq = 0;
  const publish = async (messageId: string): Promise<string> => {
    seq++;
    await raw.dealer.send(["P", JSON.stringify([String(seq), "", "job:run", messageId, 1]), line(messageId)]);
    for (;;) {
      const [kind, answered, error] = await raw.dealer.receive();
      if (kind?.toString() === "R" && answered?.toString() === String(seq)) return error?.toString() ?? "";
    }
  };
  // SIGKILL, restart on the same file, and a worker: the message ids it is sent.
  const restartAndReceive = async (): Promise<string[]> => {
    await broker.kill();
    broker = await startBrokerChild(ports.pubPort, ports.recvPort, file, undefined, true);
    const worker = new Bus({ id: "worker" });
    const got: string[] = [];
    worker.follow("job:run", (m) => void got.push(m.messageId));
    const link = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"], heartbeatInterval: 100 });
    link.on("error", () => undefined);
    t.after(() => link.close());
    return got;
  };
  return { publish, restartAndReceive };
}

describe("zeromq broker: its persist file deleted, truncated or replaced while it runs (r32)", () => {
  it("deleted: the messages confirmed before and after survive a SIGKILL", { timeout: 20_000 }, async (t) => {
    const file = join(dir, "deleted.log");
    const { publish, restartAndReceive } = await setUp(t, file);
    assert.equal(await publish("raw/1"), "");
    rmSync(file);
    assert.equal(await publish("raw/2"), "");
    const got = await restartAndReceive();
    await waitFor(() => got.includes("raw/1") && got.includes("raw/2"), "both confirmed messages after the restart", 5_000);
  });

  it("deleted with nothing sent after: what is held is written again by the sweep", { timeout: 20_000 }, async (t) => {
    const file = join(dir, "deleted-idle.log");
    const { publish, restartAndReceive } = await setUp(t, file);
    assert.equal(await publish("raw/1"), "");
    rmSync(file);
    await sleep(1_000); // the child sweeps every 100 ms
    const got = await restartAndReceive();
    await waitFor(() => got.includes("raw/1"), "the confirmed message after the restart", 5_000);
  });

  it("truncated: the records the truncation dropped are written again", { timeout: 20_000 }, async (t) => {
    const file = join(dir, "truncated.log");
    const { publish, restartAndReceive } = await setUp(t, file);
    assert.equal(await publish("raw/1"), "");
    truncateSync(file, 0);
    assert.equal(await publish("raw/2"), "");
    const got = await restartAndReceive();
    await waitFor(() => got.includes("raw/1") && got.includes("raw/2"), "both confirmed messages after the restart", 5_000);
  });

  it("replaced by an older copy: the broker writes to the file at its path", { timeout: 20_000 }, async (t) => {
    const file = join(dir, "replaced.log");
    const { publish, restartAndReceive } = await setUp(t, file);
    copyFileSync(file, `${file}.old`); // empty: nothing held yet
    assert.equal(await publish("raw/1"), "");
    renameSync(`${file}.old`, file);
    assert.equal(await publish("raw/2"), "");
    const got = await restartAndReceive();
    await waitFor(() => got.includes("raw/1") && got.includes("raw/2"), "both confirmed messages after the restart", 5_000);
  });

  it("a directory in its place: batches are refused (PERSIST_FAILED), not confirmed into a deleted file", { timeout: 20_000 }, async (t) => {
    const file = join(dir, "directory.log");
    const { publish } = await setUp(t, file);
    assert.equal(await publish("raw/1"), "");
    rmSync(file);
    mkdirSync(file);
    assert.match(await publish("raw/2"), /PERSIST_FAILED/);
  });
});
