// Red team (round 27, chaos): the broker's acknowledged delivery across processes killed with SIGKILL. A
// numbered stream of acknowledged messages goes from this process through a broker child (persist file)
// to a subscriber child; mid-stream the subscriber is killed -9 and started again (a new process: a new
// client id and bus), the broker is killed -9 and started again over its persist file, then the subscriber
// again. Every message must reach a subscriber process at least once, each subscriber process taking a
// message at most once (its bus drops resends by messageId); the sender's link confirms them all and
// closes with nothing undelivered, and the subscriber closes and exits on SIGTERM. The existing kill
// specs kill only the broker (persistence.spec, redteam-acknowledged.spec, broker-policy.spec) with
// subscribers in the spec's process; none killed a subscriber process holding unacknowledged messages.
// The kills come at fixed points of the stream (by count, not by time), so the run is the same each time
// up to the machine's timing, and its assertions hold whatever that timing. Child:
// spec/bridges/fixtures/r27-chaos-zmq-consumer.ts; broker: spec/bridges/zeromq/fixtures/broker-child.ts.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { BrokerLink } from "../../bridges/zeromq/index.js";
import { Bus } from "../../lib/bus.js";
import { freePort } from "../helpers/free-port.js";
import { settlesWithin, sleep, waitFor } from "../helpers/wait-for.js";
import { type BrokerChild, startBrokerChild } from "./zeromq/broker-helpers.js";

const CONSUMER = fileURLToPath(new URL("./fixtures/r27-chaos-zmq-consumer.ts", import.meta.url));

interface Consumer {
  readonly child: ChildProcess;
  output(): string;
}

function startConsumer(pubPort: number, recvPort: number, ledger: string): Promise<Consumer> {
  const child = spawn(process.execPath, ["--import", "tsx", CONSUMER, String(pubPort), String(recvPort), ledger], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const early = (code: number | null): void => reject(new Error(`consumer exited (${code}) before it was ready: ${out}`));
    child.once("exit", early);
    const poll = setInterval(() => {
      if (!out.includes("ready")) return;
      clearInterval(poll);
      child.off("exit", early);
      resolve({ child, output: () => out });
    }, 5);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function killHard(child: ChildProcess): Promise<void> {
  const gone = exited(child);
  child.kill("SIGKILL");
  await gone;
}

describe("redteam r27 chaos: ZeroMQ acknowledged delivery with subscriber and broker processes killed -9", () => {
  const dir = mkdtempSync(join(tmpdir(), "berrymq-r27-chaos-zmq-"));
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("every confirmed message reaches a subscriber process, once per process, across three kills", {
    timeout: 60_000,
  }, async () => {
    const pubPort = await freePort();
    const recvPort = await freePort();
    const persist = join(dir, "acks.log");
    const ledger = join(dir, "ledger");
    let broker: BrokerChild = await startBrokerChild(pubPort, recvPort, persist, { clientTimeout: 2_000 }, true);
    cleanup.push(() => broker.kill());
    let consumer = await startConsumer(pubPort, recvPort, ledger);
    cleanup.push(() => killHard(consumer.child));

    const link = await BrokerLink.connect({
      bus: new Bus({ id: "producer" }),
      pubPort,
      recvPort,
      exportFilters: ["chaos:*"],
      importFilters: ["none:none"],
      acknowledge: ["chaos:*"],
      heartbeatInterval: 100,
      sendTimeout: 500,
      retryDelay: { initial: 20, max: 200 },
    });
    cleanup.push(() => link.close());
    link.on("error", () => {}); // LINK_DOWN while the broker is away, quota refusals while the subscriber is

    const N = 3_000;
    const kills: Promise<void>[] = [];
    const restartConsumer = async (): Promise<void> => {
      await killHard(consumer.child);
      await sleep(200);
      consumer = await startConsumer(pubPort, recvPort, ledger);
    };
    const restartBroker = async (): Promise<void> => {
      await broker.kill();
      await sleep(200);
      broker = await startBrokerChild(pubPort, recvPort, persist, { clientTimeout: 2_000 }, true);
    };
    for (let i = 0; i < N; i++) {
      link.bus.twitter("chaos:msg", i);
      if (i === 600) kills.push(restartConsumer());
      if (i === 1_400) kills.push(Promise.all(kills).then(restartBroker));
      if (i === 2_200) kills.push(Promise.all(kills).then(restartConsumer));
      if (i % 20 === 19) await sleep(5);
    }
    await Promise.all(kills);

    const lines = (): string[][] =>
      existsSync(ledger)
        ? readFileSync(ledger, "utf8")
            .split("\n")
            .filter((line) => line !== "")
            .map((line) => line.split(" "))
        : [];
    const distinct = (): number => new Set(lines().map(([seq]) => seq)).size;
    await waitFor(() => distinct() === N, `every message at a subscriber (${distinct()} of ${N})`, 30_000);
    await waitFor(() => link.backlog === 0, "the sender's batches all confirmed", 10_000);
    assert.equal(link.stats.sent, N, "each message confirmed once");
    assert.equal(link.stats.dropped, 0);

    const seen = new Set<string>();
    const twice: string[] = [];
    for (const [seq, pid] of lines()) {
      const key = `${seq} ${pid}`;
      if (seen.has(key)) twice.push(key);
      seen.add(key);
    }
    assert.deepEqual(twice.slice(0, 10), [], "no subscriber process took a message twice");
    // The third process takes what was held while it started, unless the kills ran late on a loaded machine.
    assert.ok(new Set(lines().map(([, pid]) => pid)).size >= 2, "the restarted subscriber took the held messages");

    const report = await link.close();
    assert.equal(report.undelivered.length, 0, "nothing undelivered at close");
    const gone = exited(consumer.child);
    consumer.child.kill("SIGTERM");
    assert.ok(await settlesWithin(gone, 5_000), "the subscriber closes and exits on SIGTERM");
    assert.match(consumer.output(), /closed/);
  });
});
