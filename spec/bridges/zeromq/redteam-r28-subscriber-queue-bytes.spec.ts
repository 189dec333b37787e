// r28 red team: what the broker queues for a subscriber that does not read was bounded by count only (the
// PUB socket's 100,000 messages): 100,000 messages of 16 MiB to a stopped subscriber could hold 1.6 TB.
// `maxSubscriberQueueBytes` bounds the bytes sent to a subscriber it has not read (it answers marks); past
// it, deliveries to it are dropped, as libzmq drops them past the count, until it has read what it was
// sent. Here the subscriber is a BrokerLink in a child process stopped with SIGSTOP.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/r28-slow-subscriber.ts", import.meta.url));
const BOUND = 4 * 1024 * 1024;
const SIZE = 256 * 1024;
const SENT = 200; // 50 MiB, 12.5 times the bound

// Starts the subscriber child; `count()` is the last count it printed.
async function subscriberChild(pubPort: number, recvPort: number): Promise<{ child: ChildProcess; count: () => number }> {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, String(pubPort), String(recvPort)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-200);
  });
  const count = (): number => {
    const counts = out.match(/count (\d+)/g) ?? [];
    return Number(counts.at(-1)?.slice(6) ?? 0);
  };
  await waitFor(() => out.includes("ready") || out.includes("count"), "the subscriber child welcomed", 20_000);
  return { child, count };
}

// Publishes SENT messages of SIZE to big:data from `sender` while the child `stopped` is stopped; resolves
// with how many it took once it went on, and the deliveries the broker dropped.
async function sendToStopped(
  broker: Broker,
  sender: BrokerLink,
  stopped: { child: ChildProcess; count: () => number },
): Promise<{ got: number; dropped: number }> {
  stopped.child.kill("SIGSTOP");
  const data = "x".repeat(SIZE);
  for (let i = 0; i < SENT; i++) {
    sender.bus.twitter("big:data", data);
    if (i % 10 === 9) await waitFor(() => broker.stats.received >= i + 1 - 10, "the broker keeping up", 20_000);
  }
  await waitFor(() => broker.stats.received === SENT, "every message received by the broker", 20_000);
  stopped.child.kill("SIGCONT");
  // What was queued (the bound, and what the kernel's socket buffers took) arrives; then its count settles.
  let got = -1;
  for (let i = 0; stopped.count() !== got || got === 0; i++) {
    if (i > 60) throw new Error("the subscriber never settled after SIGCONT");
    got = stopped.count();
    await sleep(500);
  }
  return { got, dropped: (broker.stats as unknown as Record<string, number>).slowDropped ?? 0 };
}

// A broker bounding each subscriber to BOUND unread bytes, the stopped subscriber child, and a sender of one
// message per batch (and so per DELIVER: maxMessageBytes just above one message).
async function setUp(t: { after: (fn: () => Promise<void>) => void }, acknowledged = false) {
  // clientTimeout long: the stopped subscriber stays registered (and its connection open) throughout.
  const broker = await Broker.start({
    pubPort: await freePort(),
    recvPort: await freePort(),
    maxSubscriberQueueBytes: BOUND,
    heartbeatInterval: 200,
    clientTimeout: 60_000,
    resendInterval: 300,
    // 200 held messages of 256 KiB from one sender (its default byte quota is a tenth of 256 MiB).
    maxUnackedBytesPerClient: 128 * 1024 * 1024,
  });
  broker.on("error", () => undefined);
  const stopped = await subscriberChild(broker.pubPort, broker.recvPort);
  const sender = await BrokerLink.connect({
    bus: new Bus(),
    pubPort: broker.pubPort,
    recvPort: broker.recvPort,
    importFilters: ["none:none"],
    maxMessageBytes: SIZE + 4_096,
    ...(acknowledged ? { acknowledge: ["big:*"] } : {}),
  });
  const links: BrokerLink[] = [sender];
  t.after(async () => {
    stopped.child.kill("SIGCONT");
    stopped.child.kill("SIGKILL");
    for (const link of links) await link.close();
    broker.close();
  });
  return { broker, stopped, sender, links };
}

describe("zeromq broker: bytes queued for a subscriber that does not read (r28)", () => {
  it("a stopped subscriber is sent about maxSubscriberQueueBytes, the rest dropped; once it read them, deliveries go on", {
    timeout: 90_000,
  }, async (t) => {
    const { broker, stopped, sender } = await setUp(t);
    await waitFor(() => broker.clients === 2, "both clients registered", 10_000);
    const { got, dropped } = await sendToStopped(broker, sender, stopped);
    t.diagnostic(`the stopped subscriber got ${got} of ${SENT}; ${dropped} deliveries dropped`);
    // The bound is 16 messages; the kernel's socket buffers on both sides take some more before the broker
    // queues anything. Without the bound all 200 came.
    assert.ok(got < SENT / 2, `the stopped subscriber got ${got} of ${SENT} messages of 256 KiB (bound ${BOUND} bytes)`);
    assert.ok(dropped > 0, "the dropped deliveries are counted");
    // It read them: deliveries to it go on.
    for (let i = 0; i < 5; i++) sender.bus.twitter("big:data", "x".repeat(SIZE));
    await waitFor(() => stopped.count() === got + 5, "deliveries after it read what it was sent", 20_000);
  });

  it("broadcasts too: the stopped subscriber is bounded, and another subscriber of the same messages gets every one", {
    timeout: 90_000,
  }, async (t) => {
    const { broker, stopped, sender, links } = await setUp(t);
    // Every client but the sender wants big:* (two of them): the broker broadcasts.
    const healthy = new Bus();
    let healthyGot = 0;
    healthy.follow("big:*", () => {
      healthyGot++;
    });
    links.push(
      await BrokerLink.connect({ bus: healthy, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["big:*"] }),
    );
    await waitFor(() => broker.clients === 3, "three clients registered", 10_000);
    const { got, dropped } = await sendToStopped(broker, sender, stopped);
    t.diagnostic(`the stopped subscriber got ${got} of ${SENT}; ${dropped} deliveries dropped`);
    assert.ok(got < SENT / 2, `the stopped subscriber got ${got} of ${SENT} messages of 256 KiB (bound ${BOUND} bytes)`);
    await waitFor(() => healthyGot === SENT, `the healthy subscriber got every message (${healthyGot})`, 20_000);
  });

  it("acknowledged messages dropped past the bound stay held and reach the subscriber once it reads again", {
    timeout: 90_000,
  }, async (t) => {
    const { broker, stopped, sender } = await setUp(t, true);
    await waitFor(() => broker.clients === 2, "both clients registered", 10_000);
    const { dropped } = await sendToStopped(broker, sender, stopped);
    t.diagnostic(`${dropped} deliveries dropped while it was stopped`);
    assert.ok(dropped > 0, "deliveries were dropped past the bound");
    await waitFor(() => broker.held === 0, `every message acknowledged in the end (${broker.held} held)`, 60_000);
    // Its count is printed every 50 ms: it may lag the acknowledgements.
    await waitFor(() => stopped.count() >= SENT, "the subscriber took every message", 10_000);
  });
});
