// r28 red team: a held message's expiry across broker restarts. A message due to expire 6 s after it was
// sent must become a dead letter ~6 s after it was sent, though the broker was killed (SIGKILL) and started
// again at 3 s. Records carry their absolute expiry ("e") since expiry exists; a record from before ("e"
// missing) took `now + expiry` at every start and, the compaction at start writing it back without it,
// never expired while the broker restarted more often than its expiry. It takes its expiry at the first
// start (as before) and keeps it from then on.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BrokerLink, type BrokerLinkOptions } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { heldInLog } from "../../helpers/persist-file.js";
import { waitFor } from "../../helpers/wait-for.js";
import { type BrokerChild, startBrokerChild } from "./broker-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-r28-expiry-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const EXPIRY = 6_000;
const RESTART_AT = 3_000;
// The sweep runs every 100 ms; a loaded machine is slower to start a child broker.
const SLACK = 2_000;

// Kills `first` RESTART_AT ms after `from`, starts a broker on the same file and ports, and resolves with
// the ms from `from` to its dead letter of `messageId`.
async function deadLetterAfterRestart(
  first: BrokerChild,
  from: number,
  ports: [number, number],
  file: string,
  messageId: string,
  children: BrokerChild[],
): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, from + RESTART_AT - Date.now())));
  assert.equal(first.output().includes("dead-letter"), false, "not expired before the restart");
  await first.kill();
  const second = await startBrokerChild(ports[0], ports[1], file, { expiry: EXPIRY }, true);
  children.push(second);
  await waitFor(() => second.output().includes(`dead-letter ${messageId}`), "the message expired after the restart", EXPIRY * 3);
  return Date.now() - from;
}

// One message nobody takes, sent to a child broker whose default expiry is `brokerExpiry` through a link
// acknowledging `acknowledge`; the broker killed and started again: dead-lettered EXPIRY after it was sent.
async function heldAcrossRestart(
  t: { after(fn: () => unknown): void },
  name: string,
  brokerExpiry: number,
  acknowledge: NonNullable<BrokerLinkOptions["acknowledge"]>,
): Promise<void> {
  const file = join(dir, name);
  const ports: [number, number] = [await freePort(), await freePort()];
  const children: BrokerChild[] = [];
  const first = await startBrokerChild(ports[0], ports[1], file, { expiry: brokerExpiry }, true);
  children.push(first);
  const sender = await BrokerLink.connect({
    bus: new Bus(),
    pubPort: ports[0],
    recvPort: ports[1],
    importFilters: ["none:none"],
    acknowledge,
  });
  t.after(async () => {
    await sender.close();
    for (const child of children) await child.kill();
  });
  const sentAt = Date.now();
  sender.bus.twitter("job:lost", "nobody takes it");
  await waitFor(() => heldInLog(file).length === 1, "the message held and logged", 5_000);
  const [messageId] = heldInLog(file);
  const took = await deadLetterAfterRestart(first, sentAt, ports, file, messageId as string, children);
  assert.ok(took >= EXPIRY - 200 && took <= EXPIRY + SLACK, `dead-lettered ${took} ms after it was sent (expiry ${EXPIRY})`);
}

// The absolute expiry ("e") of `messageId`'s record in the persist file.
function absoluteExpiry(file: string, messageId: string): number {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line === "") continue;
    const record = JSON.parse(line) as { m?: string; e?: number | null };
    if (record.m === messageId && typeof record.e === "number") return record.e;
  }
  assert.fail(`no record of ${messageId} with an absolute expiry in ${file}`);
}

describe("zeromq broker: expiry across restarts (r28)", () => {
  it("a message held with the broker's default expiry expires that long after it was sent, not after the restart", {
    timeout: 60_000,
  }, async (t) => {
    await heldAcrossRestart(t, "default.log", EXPIRY, ["job:*"]);
  });

  it("a message held with its own expiry (an acknowledge rule's policy) keeps it across the restart", {
    timeout: 60_000,
  }, async (t) => {
    // The broker's default is long: the message's own expiry is the one that counts.
    await heldAcrossRestart(t, "own.log", EXPIRY * 10, [{ filter: "job:*", expiry: EXPIRY }]);
  });

  it("a record from before expiry existed (no absolute expiry) takes it at the first start and keeps it across a restart", {
    timeout: 60_000,
  }, async (t) => {
    const file = join(dir, "old.log");
    const messageId = "0123456789abcdef/1";
    const payload = JSON.stringify(["job:lost", ["nobody takes it"], {}, messageId, 1]);
    // As a broker without expiry wrote it: no "e".
    writeFileSync(
      file,
      `${JSON.stringify({ m: messageId, i: "job:lost", s: "0123456789abcdef", p: payload, t: Date.now() - 60_000 })}\n`,
    );
    const ports: [number, number] = [await freePort(), await freePort()];
    const children: BrokerChild[] = [];
    t.after(async () => {
      for (const child of children) await child.kill();
    });
    const startedAt = Date.now();
    const first = await startBrokerChild(ports[0], ports[1], file, { expiry: EXPIRY }, true);
    children.push(first);
    const readyAt = Date.now();
    // The first start took its expiry and wrote it (its compaction): when the child read the file, which a
    // loaded machine delays by seconds after the spawn (CI of r28: 2.8 s), so the spec reads it back.
    const expiresAt = absoluteExpiry(file, messageId);
    assert.ok(
      expiresAt >= startedAt + EXPIRY && expiresAt <= readyAt + EXPIRY,
      `the first start gave it expiry ${expiresAt - startedAt} ms after the spawn (expiry ${EXPIRY}, ready after ${readyAt - startedAt} ms)`,
    );
    const took = await deadLetterAfterRestart(first, expiresAt - EXPIRY, ports, file, messageId, children);
    assert.ok(
      took >= EXPIRY - 200 && took <= EXPIRY + SLACK,
      `dead-lettered ${took} ms after the first start took its expiry (expiry ${EXPIRY})`,
    );
  });
});
