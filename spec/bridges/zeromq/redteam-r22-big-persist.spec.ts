// Red team r22: a persist file larger than V8's longest string (~512 MiB). A broker holding 10,000
// messages of 50 KB writes one; a crash of the machine can leave a region of zeros in one.
import assert from "node:assert/strict";
import { appendFileSync, closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { Broker } from "../../../bridges/zeromq/index.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-r22-persist-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function record(n: number): string {
  const messageId = `old-bus/${n}`;
  const payload = JSON.stringify(
    toCompactEnvelope(toEnvelope(createMessage({ identifier: "job:run", args: [n], messageId, hops: ["old-bus"] }))),
  );
  return `${JSON.stringify({ m: messageId, i: "job:run", s: "0123456789abcdef", p: payload, t: Date.now(), e: null })}\n`;
}

describe("zeromq broker: red team r22 (a persist file over 512 MiB)", () => {
  it("red team: a broker restarts on a 600 MiB persist file (it could not start: 'Cannot create a string longer than 0x1fffffe8 characters'), replays the records around a damaged region and reports that region", {
    timeout: 30_000,
  }, async (t) => {
    const file = join(dir, "big.log");
    writeFileSync(file, record(1));
    // 600 MiB of zeros without a newline (sparse: nothing written to the disk), then a good record.
    const fd = openSync(file, "r+");
    ftruncateSync(fd, 600 * 1024 * 1024);
    closeSync(fd);
    appendFileSync(file, `\n${record(2)}`);
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), persistFile: file });
    const errors: Error[] = [];
    broker.on("error", (error) => void errors.push(error));
    t.after(() => broker.close());
    assert.equal(broker.held, 2, "both records around the damaged region are held");
    await waitFor(() => errors.length > 0, "the damaged region reported");
    assert.ok(
      errors.some((error) => error.name === "PersistError" && /1 record\(s\)/.test(error.message)),
      errors.map((e) => e.message).join("; "),
    );
    assert.ok(statSync(file).size < 10_000, "compacted at start to the two held messages");
  });
});
