// r32 red team (found checking the persist-file-replaced fix): a broker started on a relative persist path
// in a process that changes its working directory afterwards. The check that the file at the log's path is
// still the one written looked at the relative path, found another (or no) file there after the chdir, and
// rewrote the log into the new directory at every batch: the file the broker locked and replays from no
// longer got the messages it confirmed. The dead-letter file had the same flaw since r22: its check for a
// file moved away took the relative path's other file for a rotation, and wrote letters into the new
// working directory.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { Broker, type DeadLetter, readDeadLetters } from "../../../bridges/zeromq/index.js";
import { createMessage } from "../../../lib/message.js";
import { waitFor } from "../../helpers/wait-for.js";
import { rawClient } from "./broker-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-r32-chdir-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("zeromq broker: a relative persist file and a chdir (r32)", () => {
  it("keeps logging to the file it opened", { timeout: 20_000 }, async (t) => {
    const home = process.cwd();
    t.after(() => process.chdir(home));
    mkdirSync(join(dir, "a"));
    mkdirSync(join(dir, "b"));
    process.chdir(join(dir, "a"));
    const broker = await Broker.start({ pubPort: 0, recvPort: 0, persistFile: "acks.log" });
    t.after(() => broker.close());
    broker.on("error", () => undefined);
    process.chdir(join(dir, "b"));
    const raw = await rawClient(broker.pubPort, broker.recvPort, "00000000000000e1");
    t.after(() => raw.close());
    await raw.hello(["none:none"]);
    const messageId = "raw/1";
    const line = JSON.stringify(toCompactEnvelope(toEnvelope(createMessage({ identifier: "job:run", args: [1], messageId, hops: ["raw"] }))));
    await raw.dealer.send(["P", JSON.stringify(["1", "", "job:run", messageId, 1]), line]);
    const [kind, , error] = await raw.dealer.receive();
    assert.equal(kind?.toString(), "R");
    assert.equal(error?.toString(), "");
    await waitFor(() => broker.held === 1, "the message held");
    broker.close();
    assert.equal(existsSync(join(dir, "b", "acks.log")), false, "no log written in the new working directory");
    process.chdir(join(dir, "a"));
    const again = await Broker.start({ pubPort: 0, recvPort: 0, persistFile: "acks.log" });
    t.after(() => again.close());
    assert.equal(again.held, 1, "the confirmed message replayed from the file the broker opened");
  });

  it("keeps writing dead letters to the file it opened", { timeout: 20_000 }, async (t) => {
    const home = process.cwd();
    t.after(() => process.chdir(home));
    mkdirSync(join(dir, "c"));
    mkdirSync(join(dir, "d"));
    process.chdir(join(dir, "c"));
    const broker = await Broker.start({ pubPort: 0, recvPort: 0, deadLetterFile: "dead.jsonl", expiry: 50, resendInterval: 50 });
    t.after(() => broker.close());
    broker.on("error", () => undefined);
    const letters: DeadLetter[] = [];
    broker.on("dead-letter", (letter) => void letters.push(letter));
    process.chdir(join(dir, "d"));
    const raw = await rawClient(broker.pubPort, broker.recvPort, "00000000000000e2");
    t.after(() => raw.close());
    await raw.hello(["none:none"]);
    const messageId = "raw/2";
    const line = JSON.stringify(toCompactEnvelope(toEnvelope(createMessage({ identifier: "job:run", args: [2], messageId, hops: ["raw"] }))));
    await raw.dealer.send(["P", JSON.stringify(["1", "", "job:run", messageId, 1]), line]);
    await waitFor(() => letters.length === 1, "the dead letter", 5_000);
    broker.close();
    assert.equal(existsSync(join(dir, "d", "dead.jsonl")), false, "no dead-letter file in the new working directory");
    assert.deepEqual(
      readDeadLetters(join(dir, "c", "dead.jsonl")).map((letter) => letter.messageId),
      [messageId],
    );
  });
});
