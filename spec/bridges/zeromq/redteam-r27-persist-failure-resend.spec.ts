// r27 red team: a batch sent again (its receipt lost) holding a message the broker holds and logged
// already, while the persist file cannot be written (a full disk; here `ulimit -f` on the broker child).
// The broker refused the batch and released what it had just taken, which included the message it
// confirmed before: gone from memory (still in the file), it was no longer sent to any subscriber.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";
import { rawClient } from "./broker-helpers.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/broker-child.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "berrymq-r27-resend-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function line(messageId: string, arg: string): string {
  return JSON.stringify(toCompactEnvelope(toEnvelope(createMessage({ identifier: "job:run", args: [arg], messageId, hops: ["raw"] }))));
}

describe("zeromq broker: a persist failure on a batch sent again (r27)", () => {
  it("keeps holding (and sending) a message it confirmed before when the batch sending it again fails to log", { timeout: 20_000 }, async (t) => {
    const ports = { pubPort: await freePort(), recvPort: await freePort() };
    const file = join(dir, "acks.log");
    const child = spawn("bash", ["-c", `ulimit -f 8; exec "${process.execPath}" --import tsx "${FIXTURE}" ${ports.pubPort} ${ports.recvPort} "${file}" 200`], {
      stdio: ["ignore", "pipe", "ignore"],
      env: { ...process.env, BROKER_CHILD_QUIET: "1" },
    });
    t.after(() => {
      child.kill("SIGKILL");
    });
    await new Promise<void>((resolve) => child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve()));
    const raw = await rawClient(ports.pubPort, ports.recvPort, "00000000000000aa");
    t.after(() => raw.close());
    await raw.hello(["none:none"]);
    let seq = 0;
    const publish = async (messageId: string, arg: string): Promise<string> => {
      seq++;
      await raw.dealer.send(["P", JSON.stringify([String(seq), "", "job:run", messageId, 1]), line(messageId, arg)]);
      for (;;) {
        const [kind, answered, error] = await raw.dealer.receive();
        if (kind?.toString() === "R" && answered?.toString() === String(seq)) return error?.toString() ?? "";
      }
    };
    assert.equal(await publish("raw/1", "the one"), "", "confirmed");
    const filler = "x".repeat(1_000);
    let refusal = "";
    for (let i = 2; i < 100 && refusal === ""; i++) refusal = await publish(`raw/${i}`, filler);
    assert.match(refusal, /PERSIST_FAILED/, "the file is full");
    // The first batch again (its receipt lost, as far as the sender knows): the log cannot take it.
    assert.match(await publish("raw/1", "the one"), /PERSIST_FAILED/);
    const worker = new Bus({ id: "worker" });
    const got: string[] = [];
    worker.follow("job:run", (m) => void got.push(m.messageId));
    const link = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"] });
    link.on("error", () => undefined);
    t.after(() => link.close());
    await waitFor(() => got.includes("raw/1"), "the message confirmed first, still held and sent", 5_000);
  });
});
