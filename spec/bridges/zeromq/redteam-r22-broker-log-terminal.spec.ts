// Red team r22: what a hostile client sends, as `berrymq broker` prints it to the operator's terminal.
// Error messages quote clients' values with JSON, which escapes C0 but leaves DEL and C1 (U+0080-U+009F,
// CSI among them) raw.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as zmq from "zeromq";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

const CLI = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

async function hostileRun(verbose: boolean): Promise<string> {
  const pubPort = await freePort();
  const recvPort = await freePort();
  const args = [
    "--import",
    "tsx",
    CLI,
    "broker",
    "--pub-port",
    String(pubPort),
    "--recv-port",
    String(recvPort),
    ...(verbose ? ["--verbose"] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const dealer = new zmq.Dealer({ routingId: randomBytes(8).toString("hex"), linger: 0 });
  try {
    await waitFor(() => output.includes("berrymq broker: pub"), "the broker's banner", 10_000);
    dealer.connect(`tcp://127.0.0.1:${recvPort}`);
    // An unknown frame kind and a HELLO whose pattern holds a CSI (C1) and DEL.
    await dealer.send(["\u009b2J\u007f"]);
    await dealer.send(["H", JSON.stringify(["\u009b31m:x"]), "1", "rc"]);
    await waitFor(
      () => output.includes("unknown frame kind") && output.includes("bad patterns"),
      "both refusals printed",
      10_000,
    );
  } finally {
    dealer.close();
    child.kill("SIGTERM");
    await exited;
  }
  return output;
}

describe("berrymq broker (CLI): red team r22 (a client's bytes in the broker's output)", () => {
  it("red team: the errors a hostile client causes are printed with its control characters escaped (a CSI reached the terminal raw), on stderr and with --verbose", {
    timeout: 30_000,
  }, async () => {
    for (const verbose of [false, true]) {
      const output = await hostileRun(verbose);
      assert.ok(!hasControl(output), `${verbose ? "--verbose" : "stderr"}: ${JSON.stringify(output)}`);
      assert.match(output, /\\u009b2J\\u007f/, "the value still shown, escaped");
    }
  });
});
