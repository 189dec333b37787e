// Red team r22: a hostile client's dead letter read by an operator in a terminal. A messageId may hold
// any character (256 at most), and JSON leaves C1 controls (U+0080-U+009F) unescaped in a payload.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as zmq from "zeromq";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import type { DeadLetter } from "../../../bridges/zeromq/index.js";
import { createMessage } from "../../../lib/message.js";
import { expiringBroker } from "./broker-helpers.js";
import { waitFor } from "../../helpers/wait-for.js";

const CLI = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "berrymq-r22-terminal-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function list(args: string[]): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "broker", "dead-letters", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve) => child.once("close", () => resolve(out)));
}

// ESC, BEL, CSI (C1) and DEL: what a terminal acts on (newline aside, which ends a listing's lines).
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

describe("zeromq broker: red team r22 (dead letters shown in a terminal)", () => {
  it("red team: `broker dead-letters` (text and --json) prints no terminal control character a client put in its messageId or payload (it printed ESC ]0;… BEL ESC [2J raw: a hostile client retitled and cleared the operator's terminal)", {
    timeout: 20_000,
  }, async (t) => {
    const deadLetterFile = join(dir, "hostile.dead");
    const { broker, letters } = await expiringBroker(deadLetterFile);
    broker.on("error", () => undefined);
    const dealer = new zmq.Dealer({ routingId: randomBytes(8).toString("hex"), linger: 0 });
    dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
    t.after(() => {
      dealer.close();
      broker.close();
    });
    const messageId = "evil/\u001b]0;pwned\u0007\u001b[2J";
    const line = JSON.stringify(
      toCompactEnvelope(toEnvelope(createMessage({ identifier: "job:run", args: ["\u009b31mred"], messageId, hops: ["evil"] }))),
    );
    await dealer.send(["P", JSON.stringify(["1", "", "job:run", messageId, 1]), line]);
    await waitFor(() => letters.length === 1, "the hostile message expired into a dead letter", 10_000);
    assert.equal(letters[0]?.messageId, messageId, "the dead letter itself keeps the messageId as it was");
    const text = await list([deadLetterFile]);
    assert.match(text, /job:run/);
    assert.ok(!hasControl(text), `text listing: ${JSON.stringify(text)}`);
    assert.match(text, /evil\/\\u001b\]0;pwned\\u0007\\u001b\[2J/, "the messageId shown escaped");
    const json = await list([deadLetterFile, "--json"]);
    assert.ok(!hasControl(json), `--json listing: ${JSON.stringify(json)}`);
    assert.equal((JSON.parse(json.trim()) as DeadLetter).messageId, messageId, "--json still parses back to the same letter");
  });
});
