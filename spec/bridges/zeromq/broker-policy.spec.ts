// The broker's policy for held messages: expiry into dead letters, a per-client quota, and what happens
// when no subscriber matches. Each rule is checked across a SIGKILL and restart of a broker child process.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import {
  Broker,
  BrokerNoSubscriberError,
  BrokerLink,
  type BrokerLinkOptions,
  BrokerQuotaError,
  type DeadLetter,
  readDeadLetters,
} from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type BrokerChild, startBrokerChild } from "./broker-helpers.js";
import { heldInLog } from "../../helpers/persist-file.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-zmq-policy-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Setup {
  ports: { pubPort: number; recvPort: number };
  broker: BrokerChild;
  persistFile: string;
  connect(options: BrokerLinkOptions): Promise<BrokerLink>;
  restart(): Promise<void>;
}

// A broker child with `more` options, links closed and the child killed when the test ends (even failing).
async function setup(t: TestContext, name: string, more: object): Promise<Setup> {
  const ports = { pubPort: await freePort(), recvPort: await freePort() };
  const persistFile = join(dir, `${name}.log`);
  const links: BrokerLink[] = [];
  const state: Setup = {
    ports,
    persistFile,
    broker: await startBrokerChild(ports.pubPort, ports.recvPort, persistFile, more),
    async connect(options) {
      const link = await BrokerLink.connect({ ...ports, heartbeatInterval: 100, sendTimeout: 300, retryDelay: { initial: 50, max: 200 }, ...options });
      links.push(link);
      return link;
    },
    async restart() {
      await state.broker.kill(); // SIGKILL: no shutdown, no flush
      state.broker = await startBrokerChild(ports.pubPort, ports.recvPort, persistFile, more);
    },
  };
  t.after(async () => {
    for (const link of links) await link.close().catch(() => undefined);
    await state.broker.kill();
  });
  return state;
}

function errorsOf(link: BrokerLink): BerryError[] {
  const errors: BerryError[] = [];
  link.on("error", (error) => void errors.push(error));
  return errors;
}

describe("zeromq broker policy: expiry into dead letters", () => {
  it("an unacknowledged message expires into a dead letter (event, file) instead of being held forever", async (t) => {
    const deadLetterFile = join(dir, "in-process.dead");
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), resendInterval: 50, expiry: 300, deadLetterFile });
    const letters: DeadLetter[] = [];
    broker.on("dead-letter", (letter) => void letters.push(letter));
    const sender = await BrokerLink.connect({ bus: new Bus(), pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["none:none"], acknowledge: ["*:*"] });
    t.after(async () => {
      await sender.close();
      broker.close();
    });
    sender.bus.twitter("jbo:run", "a typo nobody follows");
    await sleep(50);
    sender.bus.twitter("job:run", "never taken");
    await waitFor(() => letters.length === 2, "both messages expired (broker default expiry 300 ms)");
    assert.equal(broker.held, 0);
    assert.equal(broker.stats.expired, 2);
    assert.deepEqual(letters.map((l) => [l.identifier, l.reason]), [["jbo:run", "expired"], ["job:run", "expired"]]);
    assert.ok(letters.every((l) => l.deadAt - l.heldAt >= 300), "not before its expiry");
    assert.match(letters[0]?.payload ?? "", /a typo nobody follows/);
    assert.deepEqual(readDeadLetters(deadLetterFile).map((l) => l.identifier), ["jbo:run", "job:run"]);
    // A subscriber arriving later does not get an expired message.
    const worker = new Bus();
    const got: unknown[] = [];
    worker.follow("*:*", (m) => void got.push(m.args[0]));
    const workerLink = await BrokerLink.connect({ bus: worker, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["*:*"] });
    await sleep(300);
    await workerLink.close();
    assert.deepEqual(got, []);
  });

  it("a per-message expiry survives a SIGKILL: what expired while the broker was down is a dead letter at restart", async (t) => {
    const deadLetterFile = join(dir, "restart.dead");
    const s = await setup(t, "expiry", { deadLetterFile, expiry: 60_000 });
    const sender = await s.connect({
      bus: new Bus(),
      importFilters: ["none:none"],
      acknowledge: [{ filter: "job:short", expiry: 800 }, "job:*"],
    });
    sender.on("error", () => undefined); // the outage is expected
    sender.bus.twitter("job:short", 1);
    sender.bus.twitter("job:long", 2);
    await waitFor(() => sender.stats.sent === 2, "the broker confirmed both");
    await s.broker.kill();
    await sleep(1_000); // job:short expires while the broker is down
    await s.restart();
    await waitFor(() => s.broker.output().includes("dead-letter"), "the dead letter reported at start");
    assert.deepEqual(readDeadLetters(deadLetterFile).map((l) => l.identifier), ["job:short"]);
    // job:long (broker default, 60 s) is still held: a worker gets it, and only it.
    const worker = new Bus();
    const got: unknown[] = [];
    worker.follow("job:*", (m) => void got.push(m.args[0]));
    await s.connect({ bus: worker, importFilters: ["job:*"] });
    await waitFor(() => got.length === 1, "the held job:long");
    await sleep(300);
    assert.deepEqual(got, [2]);
    await waitFor(() => heldInLog(s.persistFile, []).length === 0, "job:long acknowledged, job:short released in the log");
  });
});

describe("zeromq broker policy: maxExpiry", () => {
  it("a message asking never to expire is cut to the broker's maxExpiry", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), resendInterval: 50, maxExpiry: 200 });
    const letters: DeadLetter[] = [];
    broker.on("dead-letter", (letter) => void letters.push(letter));
    const link = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["none:none"],
      acknowledge: [{ filter: "*:*", expiry: Number.POSITIVE_INFINITY }],
    });
    t.after(async () => {
      await link.close();
      broker.close();
    });
    link.bus.twitter("forever:please", 1);
    await waitFor(() => letters.length === 1, "the dead letter after maxExpiry");
    assert.equal(letters[0]?.identifier, "forever:please");
    assert.equal(broker.held, 0);
  });
});

describe("zeromq broker policy: a per-client quota", () => {
  it("10,000 acknowledged messages to a typo fill one client's quota, not the broker: others still send", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    broker.on("error", () => undefined); // the refusals are expected
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["none:none"], retryDelay: { initial: 50, max: 200 } };
    const flooder = await BrokerLink.connect({ bus: new Bus(), ...ports, acknowledge: ["*:*"] });
    const other = await BrokerLink.connect({ bus: new Bus(), ...ports, acknowledge: ["*:*"] });
    const worker = new Bus();
    const got: unknown[] = [];
    worker.follow("orders:new", (m) => void got.push(m.args[0]));
    const workerLink = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["orders:*"] });
    t.after(async () => {
      for (const link of [flooder, other, workerLink]) await link.close();
      broker.close();
    });
    const downs: unknown[] = [];
    flooder.on("down", (error) => void downs.push(error.cause));
    flooder.on("error", () => undefined);
    for (let i = 0; i < 10_000; i++) flooder.bus.twitter("ordres:new", i); // the typo
    await waitFor(() => downs.length > 0, "the flooder refused past its quota");
    assert.ok(downs[0] instanceof BrokerQuotaError, `got ${String(downs[0])}`);
    assert.equal(broker.held, 1_000, "the default quota: 1,000 per client");
    other.bus.twitter("orders:new", "still served");
    await waitFor(() => got.length === 1, "another client's acknowledged message");
    assert.deepEqual(got, ["still served"]);
  });

  it("the quota is rebuilt from the persist file after a SIGKILL", async (t) => {
    const s = await setup(t, "quota", { maxUnackedPerClient: 5, maxUnacked: 50 });
    const flooder = await s.connect({ bus: new Bus(), importFilters: ["none:none"], acknowledge: ["*:*"], maxBatch: 5 });
    const other = await s.connect({ bus: new Bus(), importFilters: ["none:none"], acknowledge: ["*:*"] });
    const downs: unknown[] = [];
    flooder.on("down", (error) => void downs.push(error.cause));
    flooder.on("error", () => undefined);
    other.on("error", () => undefined);
    for (let i = 0; i < 6; i++) flooder.bus.twitter("ordres:new", i);
    await waitFor(() => downs.length === 1, "the sixth message refused");
    assert.ok(downs[0] instanceof BrokerQuotaError);
    assert.equal(flooder.stats.sent, 5);
    other.bus.twitter("orders:new", "a");
    await waitFor(() => other.stats.sent === 1, "another client under its own quota");

    await s.restart();
    await sleep(1_000); // the flooder's link retries its refused batch against the new broker
    assert.equal(flooder.stats.sent, 5, "still refused: the five held messages were replayed and counted");
    other.bus.twitter("orders:new", "b");
    await waitFor(() => other.stats.sent === 2, "the other client still sends after the restart", 10_000);
    assert.equal(heldInLog(s.persistFile, []).length, 7);
  });
});

describe("zeromq broker policy: expiry frees the quota", () => {
  it("a client refused at its quota sends again once its held messages expired", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), resendInterval: 50, maxUnackedPerClient: 3, expiry: 300 });
    broker.on("error", () => undefined);
    const link = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["none:none"],
      acknowledge: ["*:*"],
      maxBatch: 1,
      retryDelay: { initial: 50, max: 100 },
    });
    link.on("error", () => undefined);
    t.after(async () => {
      await link.close();
      broker.close();
    });
    for (let i = 0; i < 5; i++) link.bus.twitter("nobody:listens", i);
    await waitFor(() => link.stats.sent === 3 && link.stats.retries > 0, "three held, the fourth refused");
    await waitFor(() => link.stats.sent === 5, "the last two taken once the first three expired");
    await waitFor(() => broker.stats.expired === 5, "all five expired in the end");
    assert.equal(broker.held, 0);
  });
});

describe("zeromq broker policy: no subscriber at send time", () => {
  it('"refuse" fails the message at once with BrokerNoSubscriberError and holds nothing, across a SIGKILL', async (t) => {
    const s = await setup(t, "refuse", {});
    const sender = await s.connect({
      bus: new Bus(),
      importFilters: ["none:none"],
      acknowledge: [{ filter: "pay:*", noSubscriber: "refuse" }, "job:*"],
    });
    const errors = errorsOf(sender);
    sender.bus.twitter("pay:now", 10);
    sender.bus.twitter("job:run", 1); // same batch, held as usual
    await waitFor(() => errors.some((e) => e instanceof BrokerNoSubscriberError), "the refusal");
    const refused = errors.find((e) => e instanceof BrokerNoSubscriberError) as BrokerNoSubscriberError;
    assert.equal(refused.identifier, "pay:now");
    assert.equal(refused.code, "BROKER_NO_SUBSCRIBER");
    await waitFor(() => heldInLog(s.persistFile, []).length === 1, "only job:run held");

    await s.restart();
    const worker = new Bus();
    const got: string[] = [];
    worker.follow("*:*", (m) => void got.push(m.id));
    await s.connect({ bus: worker, importFilters: ["pay:*", "job:*"] });
    await waitFor(() => got.length === 1, "job:run after the restart");
    await sleep(300);
    assert.deepEqual(got, ["job:run"], "pay:now was never held");
    // With a subscriber, the same rule delivers normally.
    const before = errors.length;
    sender.bus.twitter("pay:later", 20);
    await waitFor(() => got.length === 2, "pay:later delivered", 10_000);
    assert.deepEqual(got, ["job:run", "pay:later"]);
    assert.equal(errors.filter((e) => e instanceof BrokerNoSubscriberError).length, errors.slice(0, before).filter((e) => e instanceof BrokerNoSubscriberError).length);
  });
});
