// Red team r30, review 4: a persist record whose "t" (held at) reads as Infinity (1e400: a file changed by
// hand or damaged; no broker writes one). The r30 fix takes a record held ahead of the clock as held now and
// moves its expiry as much earlier: by Infinity, a finite expiry became -Infinity (a dead letter at the first
// sweep, though it had a minute left) and "never" (null) became NaN.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { Broker, type DeadLetter } from "../../../bridges/zeromq/index.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep } from "../../helpers/wait-for.js";

const SENDER = "0123456789abcdef";

function recordText(messageId: string, e: string): string {
  const payload = JSON.stringify(
    toCompactEnvelope(toEnvelope(createMessage({ identifier: "job:run", args: [messageId], kwargs: {}, messageId, hops: ["raw"] }))),
  );
  // Written by hand: JSON.stringify writes no number past the largest double.
  return `{"m":${JSON.stringify(messageId)},"i":"job:run","s":"${SENDER}","p":${JSON.stringify(payload)},"t":1e400,"e":${e}}\n`;
}

describe("zeromq broker: red team r30 review 4 (a persist record held at Infinity)", () => {
  it("a record whose held-at reads as Infinity keeps its expiry: a finite one is no dead letter at once, null stays never", {
    timeout: 15_000,
  }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-r30-r4-inf-"));
    const file = join(dir, "held.log");
    const expiresAt = Date.now() + 60_000;
    writeFileSync(file, recordText("inf/finite", String(expiresAt)) + recordText("inf/never", "null"));
    const broker = await Broker.start({
      pubPort: await freePort(),
      recvPort: await freePort(),
      persistFile: file,
      resendInterval: 100,
    });
    const letters: DeadLetter[] = [];
    broker.on("dead-letter", (letter) => void letters.push(letter));
    broker.on("error", () => undefined);
    t.after(() => {
      broker.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await sleep(600); // several sweeps
    assert.deepEqual(
      letters.map((letter) => letter.messageId),
      [],
      "no message dead-lettered: one had a minute left, the other never expires",
    );
    assert.equal(broker.held, 2);
    // The compaction at start wrote both back with a finite held-at and the expiry they had.
    const written = readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as { m: string; t: number; e: number | null });
    const byId = new Map(written.map((record) => [record.m, record]));
    assert.equal(byId.get("inf/finite")?.e, expiresAt);
    assert.equal(byId.get("inf/never")?.e, null);
    for (const record of written) assert.ok(Number.isFinite(record.t) && record.t <= Date.now(), `t ${record.t}`);
  });
});
