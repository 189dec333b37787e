// Red team r27 (chaos harness): a PeerLink's receiver killed -9 while it delivered a large batch lost up
// to two batches silently. The version 2/3 stream acknowledged a batch of more than 16 envelopes as soon
// as it arrived and delivered one holding requests 16 envelopes per event-loop turn: the sender, told the
// batch was taken, dropped it, and close() reported nothing undelivered. An acknowledgement now means the
// bus has the envelopes: every plain message the sender counted sent is either recorded by the receiver
// or reported undelivered. A receiver that is only slow keeps the sender's acknowledgement timer satisfied.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { DEFAULT_REQUEST_TIMEOUT, within } from "../../../lib/request.js";
import { waitFor } from "../../helpers/wait-for.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/slow-asks-peer.ts", import.meta.url));

interface Child {
  readonly process: ChildProcess;
  readonly url: string;
  readonly events: string[];
  readonly exited: Promise<void>;
}

async function startChild(config: { file: string; askMs: number; midwayAt: number }): Promise<Child> {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, JSON.stringify(config)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: string[] = [];
  let url = "";
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    for (let end = out.indexOf("\n"); end !== -1; end = out.indexOf("\n")) {
      const event = JSON.parse(out.slice(0, end)) as { event: string; url?: string };
      out = out.slice(end + 1);
      events.push(event.event);
      if (event.url !== undefined) url = event.url;
    }
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await Promise.race([
    waitFor(() => url !== "", "the receiving process to listen", 15_000),
    exited.then(() => {
      throw new Error(`the receiving process exited early: ${err}`);
    }),
  ]);
  return { process: child, url, events, exited };
}

function lines(file: string): number {
  return readFileSync(file, "utf8").split("\n").length - 1;
}

// A mixed batch: `count` requests to the slow follower and `count` plain messages, interleaved, sent in
// one turn (one batch of the link).
function sendMixed(bus: Bus, count: number, timeout = DEFAULT_REQUEST_TIMEOUT): Promise<unknown>[] {
  const asks: Promise<unknown>[] = [];
  for (let n = 0; n < count; n++) {
    asks.push(bus.ask("slow:ask", n, within({ timeout })).catch((error: unknown) => error));
    bus.twitter("app:plain", n);
  }
  return asks;
}

describe("red team r27: a link stream acknowledges a batch once delivered", () => {
  const dir = mkdtempSync(join(tmpdir(), "berrymq-r27-ack-"));
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
    rmSync(dir, { recursive: true, force: true });
  });

  async function near(name: string): Promise<{ bus: Bus; server: BridgeServer; errors: Error[] }> {
    const bus = new Bus({ id: name });
    const errors: Error[] = [];
    bus.on("error", (error) => void errors.push(error));
    const server = await serve({ bus });
    cleanup.push(() => server.close());
    return { bus, server, errors };
  }

  it("a receiver killed -9 mid-batch: every plain message is recorded there or reported undelivered, none lost silently", async () => {
    const file = join(dir, "killed.txt");
    const count = 300;
    const child = await startChild({ file, askMs: 4, midwayAt: 60 });
    cleanup.push(() => void child.process.kill("SIGKILL"));
    const { bus, server } = await near("r27-ack-sender");
    const link = await PeerLink.connect(child.url, { bus, server, closeTimeout: 300, retryDelay: { initial: 20, max: 100 } });
    cleanup.push(async () => void (await link.close()));
    await waitFor(() => link.streaming, "the link to stream");
    assert.ok((link.streamVersion ?? 0) >= 2, `stream version ${String(link.streamVersion)}`);
    const asks = sendMixed(bus, count);
    // 300 asks of 4 ms: about 1.2 s of delivery, 16 envelopes a turn; killed about a fifth of the way in.
    await waitFor(() => child.events.includes("midway"), "the receiver to be part-way through the batch", 10_000);
    child.process.kill("SIGKILL");
    await child.exited;
    const { undelivered } = await link.close();
    const recorded = new Set(
      readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map(Number),
    );
    const reported = new Set(undelivered.filter((m) => m.id === "app:plain").map((m) => m.args[0] as number));
    assert.ok(recorded.size > 0 && recorded.size < count, `killed mid-batch: ${recorded.size} of ${count} recorded`);
    const lost: number[] = [];
    for (let n = 0; n < count; n++) if (!recorded.has(n) && !reported.has(n)) lost.push(n);
    assert.deepEqual(
      lost,
      [],
      `${lost.length} plain message(s) neither recorded by the receiver nor reported undelivered (${recorded.size} recorded, ${reported.size} reported)`,
    );
    await Promise.all(asks);
  });

  it("a receiver that is only slow is not cut off: batches taking 3 times the sender's timeout to deliver are acknowledged on the stream", async () => {
    const file = join(dir, "slow.txt");
    const child = await startChild({ file, askMs: 8, midwayAt: -1 });
    cleanup.push(() => void child.process.kill("SIGKILL"));
    const { bus, server, errors } = await near("r27-ack-slow");
    // A timeout of 1 s against the receiver's turns of 16 × 8 ms: 250 ms cut it once on a machine at load 6
    // (r28), where a child's turn of 128 ms and the wait for the CPU added up.
    const link = await PeerLink.connect(child.url, { bus, server, timeout: 1_000 });
    cleanup.push(async () => void (await link.close()));
    await waitFor(() => link.streaming, "the link to stream");
    // Cut, the stream would be closed until the link opened another: watched every few ms.
    let cut = false;
    const watch = setInterval(() => {
      if (!link.streaming) cut = true;
    }, 2);
    try {
      // 400 requests of 8 ms and 400 plain messages: 3.2 s of delivery, whose answers leave meanwhile.
      const answers = await Promise.all(sendMixed(bus, 400, 30_000));
      assert.deepEqual(
        answers,
        Array.from({ length: 400 }, (_, n) => n),
      );
      await waitFor(() => lines(file) === 400, "400 plain messages recorded");
      assert.equal(cut, false, "the stream was cut while the receiver answered");
      // One request and 400 slow plain messages of 8 ms: delivered in parts (a request among them) that
      // write no answer after the first; the receiver writes its last acknowledgement again meanwhile.
      const asked = bus.ask("slow:ask", -1);
      for (let n = 1_000; n < 1_400; n++) bus.twitter("slow:plain", n);
      assert.equal(await asked, -1);
      await waitFor(() => lines(file) === 800, "400 slow plain messages recorded", 20_000);
      assert.equal(cut, false, "the stream was cut while the receiver delivered slow plain messages");
    } finally {
      clearInterval(watch);
    }
    assert.equal(link.streaming, true);
    assert.deepEqual(
      errors.map((error) => error.message),
      [],
    );
  });
});
