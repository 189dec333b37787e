// Red team (r18): broker protocol 2 (compact envelope lines, 3-frame PUBLISH, 2-frame DELIVER) attacked
// from a raw DEALER on 127.0.0.1, and from a hostile persist file replayed at restart. fast-check is not a
// dependency of this repo: a seeded generator stands in for it (a failure names its seed).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { random } from "../../helpers/seeded-random.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const pick = <T>(rand: () => number, list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;

function compactLine(identifier: string, messageId: string, arg: unknown, hops = ["raw"]): unknown[] {
  return toCompactEnvelope(toEnvelope(createMessage({ identifier, args: [arg], messageId, timestamp: Date.now(), hops })));
}

// Lines a receiver must refuse, each carrying `bad-<n>` somewhere a delivery would show.
function badLine(rand: () => number, n: number): string {
  const arg = `bad-${n}`;
  const good = compactLine("raw:a", `raw/${n}`, arg);
  const deep = Array.from({ length: 70 }).reduce<unknown>((inner) => [inner], arg);
  const variants: (() => string)[] = [
    () => JSON.stringify(["raw:a", arg, {}, `raw/${n}`, 1]),
    () => JSON.stringify(["raw:a", [arg], [], `raw/${n}`, 1]),
    () => JSON.stringify(["raw:a", [arg], {}, `raw/${n}`, "1"]),
    () => JSON.stringify(["raw:a", [arg], {}, `nosl${n}`, 1]), // hops left out, no origin
    () => JSON.stringify(["raw:a", [arg], {}, `raw/${n}`, 1, [""]]),
    () => JSON.stringify(["raw:a", [arg], {}, `raw/${n}`, 1, [7]]),
    () => JSON.stringify(["raw:a", [arg], {}, `raw/${n}`, 1, 0, null]),
    () => JSON.stringify(["raw:a", [arg], {}, `raw/${n}`, 1, 0, 0, 0, 0, 0]), // 10 entries
    () => JSON.stringify(["raw:a", [arg], {}, `raw/${n}`]), // 4 entries
    () => JSON.stringify(["raw::a:", [arg], {}, `raw/${n}`, 1]),
    () => JSON.stringify(["raw:a", [arg], {}, `raw/${"9".repeat(400)}`, 1]),
    () => JSON.stringify(["raw:a", [deep], {}, `raw/${n}`, 1]),
    () => `["raw:a",["${arg}"],{"__proto__":{"polluted":1}},"raw/${n}",1]`,
    () => `["raw:a",["${arg}"],{"constructor":{"prototype":{"polluted":1}}},"raw/${n}",1]`,
    () =>
      JSON.stringify({
        ...toEnvelope(createMessage({ identifier: "raw:a", args: [arg], messageId: `raw/${n}`, hops: ["raw"] })),
        v: 2,
      }),
    () =>
      JSON.stringify({
        ...toEnvelope(createMessage({ identifier: "raw:a", args: [arg], messageId: `raw/${n}`, hops: ["raw"] })),
        hops: 0,
      }),
    () => JSON.stringify([...good.slice(0, 5), 0, 0, 0, { to: 1 }]),
    () => JSON.stringify(["raw:a", [arg], {}, `raw/${n}`, 1, Array.from({ length: 65 }, (_, i) => `h${i}`)]),
    () => `${JSON.stringify(good).slice(0, -1)}`, // torn
    () => `\ufeff${JSON.stringify(good)}`, // a BOM before it
  ];
  return pick(rand, variants)();
}

function randomJson(rand: () => number, depth = 0): unknown {
  const r = rand();
  if (depth > 3 || r < 0.3) return pick(rand, [0, 1, -1, 1e308, "", "x", "1", " ", "\u0000", null, true, "raw:a", "*", "c", "r"]);
  if (r < 0.6) return Array.from({ length: Math.floor(rand() * 7) }, () => randomJson(rand, depth + 1));
  return {
    e: pick(rand, [1, -1, null, "x"]),
    u: pick(rand, ["hold", "refuse", 3]),
    [pick(rand, ["x", "__proto__", "e"])]: randomJson(rand, depth + 1),
  };
}

/** Unacknowledged lines sent in well-formed PUBLISHes (every one must reach the receiver and be rejected there). */
let wellFormedLines = 0;
/** Acknowledged lines sent in well-formed PUBLISHes: the broker refuses each (BrokerRefusedError) before any receiver. */
let wellFormedAcknowledged = 0;

function randomFrames(rand: () => number, n: number): (string | Buffer)[] {
  const lines = Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => badLine(rand, n * 10 + i));
  // Half are well-formed PUBLISHes (the broker takes them, never reading the lines): their hostile lines reach the receiver.
  if (rand() < 0.5) {
    const acks = lines.map(() => (rand() < 0.1 ? 1 : 0));
    for (const ack of acks) {
      if (ack === 1) wellFormedAcknowledged++;
      else wellFormedLines++;
    }
    return [
      "P",
      JSON.stringify([`w${n}`, "", ...lines.flatMap((_, i) => ["raw:a", `raw/w${n}-${i}`, acks[i]])]),
      lines.join("\n"),
    ];
  }
  const kind = pick(rand, ["P", "P", "P", "H", "A", "B", "R", "M", "W", "T", "", "PP", "\u00ff"]);
  const body = rand() < 0.1 ? Buffer.from([0xff, 0xfe, 0x0a, 0xc3]) : lines.join("\n");
  const entries = lines.flatMap(() => [
    pick(rand, ["raw:a", "raw:a", "", "::", "*", 5]),
    pick(rand, ["", `raw/${n}`, 3]),
    pick(rand, [0, 0, 1, 2, { e: 1 }, { x: 1 }, null]),
  ]);
  const head =
    rand() < 0.7
      ? [pick(rand, [`s${n}`, "", "a b", 7, "x".repeat(40)]), pick(rand, ["", "boot", "b o", 1]), ...entries]
      : randomJson(rand);
  const headText = rand() < 0.1 ? "{not json" : JSON.stringify(head);
  const frames: (string | Buffer)[] = [kind];
  if (kind === "H")
    frames.push(
      JSON.stringify(randomJson(rand)),
      pick(rand, ["0", "-1", "1e99", "x y", ""]),
      pick(rand, ["rc", "c", "", "cccc", "r"]),
    );
  else if (kind === "A") frames.push(rand() < 0.5 ? JSON.stringify(randomJson(rand)) : "[");
  else frames.push(headText, body);
  // A frame too many or too few now and then.
  if (rand() < 0.15) frames.push(Buffer.alloc(Math.floor(rand() * 3)));
  if (rand() < 0.15) frames.length = Math.max(1, Math.floor(rand() * frames.length));
  return frames;
}

describe("red team: broker protocol 2 from a raw DEALER", () => {
  it("1,500 seeded hostile messages (bad heads, frame counts, HELLOs, ACKs, compact lines of every wrong shape, bad UTF-8) never crash the broker, nothing hostile is delivered, every error is typed, and two links keep talking through it", {
    timeout: 60_000,
  }, async (t) => {
    const seed = 0xb20c18;
    const rand = random(seed);
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    const brokerErrors: Error[] = [];
    broker.on("error", (error) => void brokerErrors.push(error));
    const senderBus = new Bus({ id: "rt-sender" });
    const receiverBus = new Bus({ id: "rt-receiver" });
    const got: unknown[] = [];
    receiverBus.follow("raw:*", (m) => void got.push(m.args[0]));
    receiverBus.follow("ok:*", (m) => void got.push(m.args[0]));
    const sender = await BrokerLink.connect({
      bus: senderBus,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      exportFilters: ["ok:*"],
    });
    const receiver = await BrokerLink.connect({
      bus: receiverBus,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["raw:*", "ok:*"],
    });
    const linkErrors: Error[] = [];
    receiver.on("error", (error) => void linkErrors.push(error));
    sender.on("error", (error) => void linkErrors.push(error));
    const dealer = new zmq.Dealer({ routingId: randomBytes(8).toString("hex"), linger: 0, receiveHighWaterMark: 100_000 });
    dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
    t.after(async () => {
      dealer.close();
      await sender.close();
      await receiver.close();
      broker.close();
    });
    // The hostile client registers too (so that it gets DELIVERs and the broker routes to it).
    await dealer.send(["H", JSON.stringify(["raw:*"]), "1", "rc"]);
    let oks = 0;
    for (let n = 0; n < 1_500; n++) {
      await dealer.send(randomFrames(rand, n));
      if (n % 100 === 0) {
        senderBus.twitter("ok:n", `ok-${oks++}`);
        await sleep(5);
      }
    }
    await waitFor(
      () => got.filter((arg) => String(arg).startsWith("ok-")).length === oks,
      `every ok message delivered (seed ${seed})`,
      15_000,
    );
    await sleep(200);
    assert.deepEqual(
      got.filter((arg) => String(arg).startsWith("ok-")),
      Array.from({ length: oks }, (_, i) => `ok-${i}`),
    );
    const hostile = got.filter((arg) => !String(arg).startsWith("ok-"));
    assert.deepEqual(hostile.slice(0, 5), [], `hostile lines delivered (seed ${seed})`);
    for (const error of [...brokerErrors, ...linkErrors])
      assert.equal(typeof (error as BerryError).code, "string", `untyped error: ${String(error)}`);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    await waitFor(
      () => receiver.stats.rejected >= wellFormedLines,
      `the receiver refuses each of the ${wellFormedLines} hostile lines it is sent`,
      10_000,
    );
    // More than that: a raw PUBLISH of the fuzz may be well-formed by chance.
    assert.ok(
      broker.stats.invalid >= wellFormedAcknowledged,
      `the broker refuses each of the ${wellFormedAcknowledged} hostile acknowledged lines itself (${broker.stats.invalid})`,
    );
    assert.equal(broker.held, 0, "no hostile line is held");
  });

  it("a line of ~8 MB in a batch is carried or refused without stopping the broker, and a small message after it arrives", {
    timeout: 30_000,
  }, async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    broker.on("error", () => undefined);
    const bus = new Bus({ id: "rt-big" });
    const got: unknown[] = [];
    bus.follow("raw:*", (m) => void got.push(typeof m.args[0] === "string" ? m.args[0].length : m.args[0]));
    const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["raw:*"] });
    link.on("error", () => undefined);
    const dealer = new zmq.Dealer({ routingId: randomBytes(8).toString("hex"), linger: 0 });
    dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
    t.after(async () => {
      dealer.close();
      await link.close();
      broker.close();
    });
    const big = JSON.stringify(compactLine("raw:a", "raw/1", "x".repeat(8_000_000)));
    await dealer.send(["P", JSON.stringify(["1", "", "raw:a", "", 0]), big]);
    await dealer.receive();
    await dealer.send(["P", JSON.stringify(["2", "", "raw:a", "", 0]), JSON.stringify(compactLine("raw:a", "raw/2", "small"))]);
    await waitFor(() => got.includes("small".length), "the small message after the big one arrives", 15_000);
  });

  it("a line forging another bus's messageId, with hops left out (derived from it), is dropped by that bus as its own echo — and only by that bus", {
    timeout: 20_000,
  }, async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    broker.on("error", () => undefined);
    const victim = new Bus({ id: "victim" });
    const other = new Bus({ id: "other" });
    const victimGot: unknown[] = [];
    const otherGot: unknown[] = [];
    victim.follow("raw:*", (m) => void victimGot.push(m.args[0]));
    other.follow("raw:*", (m) => void otherGot.push(m.args[0]));
    const links = await Promise.all(
      [victim, other].map((bus) =>
        BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["raw:*"] }),
      ),
    );
    const dealer = new zmq.Dealer({ routingId: randomBytes(8).toString("hex"), linger: 0 });
    dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
    t.after(async () => {
      dealer.close();
      for (const link of links) await link.close();
      broker.close();
    });
    // The same forgery written out in full (protocol 1's object form, explicit hops) does the same: the
    // compact form gives an attacker nothing new.
    const lines = [
      JSON.stringify(["raw:a", ["forged"], {}, "victim/77", Date.now()]),
      JSON.stringify(
        toEnvelope(createMessage({ identifier: "raw:a", args: ["forged-object"], messageId: "victim/78", hops: ["victim"] })),
      ),
    ];
    await dealer.send(["P", JSON.stringify(["1", "", "raw:a", "", 0, "raw:a", "", 0]), lines.join("\n")]);
    await waitFor(() => otherGot.length === 2, "the other bus takes both");
    await sleep(200);
    assert.deepEqual(victimGot, [], "the victim treats a message naming it as origin as its own echo");
  });
});

describe("red team: a hostile persist file replayed at restart", () => {
  const dir = mkdtempSync(join(tmpdir(), "berrymq-redteam-persist-"));
  const sender = "0123456789abcdef";
  const record = (messageId: string, payload: string, senderId = sender, identifier = "job:run"): string =>
    `${JSON.stringify({ m: messageId, i: identifier, s: senderId, p: payload, t: Date.now(), e: null })}\n`;
  const goodPayload = (n: number): string => JSON.stringify(compactLine("job:run", `old-bus/${n}`, n, ["old-bus"]));

  async function replay(
    t: { after: (fn: () => unknown) => void },
    file: string,
  ): Promise<{ broker: Broker; runs: unknown[]; errors: Error[]; link: BrokerLink }> {
    const broker = await Broker.start({
      pubPort: await freePort(),
      recvPort: await freePort(),
      persistFile: file,
      resendInterval: 200,
    });
    const errors: Error[] = [];
    broker.on("error", (error) => void errors.push(error));
    const worker = new Bus({ id: "worker" });
    const runs: unknown[] = [];
    worker.follow("job:run", (m) => void runs.push(m.args[0]));
    const link = await BrokerLink.connect({
      bus: worker,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["job:*"],
    });
    link.on("error", (error) => void errors.push(error));
    t.after(async () => {
      await link.close();
      broker.close();
    });
    return { broker, runs, errors, link };
  }

  it("hostile records (a bad identifier, payloads that are no envelope: not JSON, a compact array of 3) do not stop the broker from starting, and the good record is delivered and released", {
    timeout: 20_000,
  }, async (t) => {
    const file = join(dir, "mixed.log");
    writeFileSync(
      file,
      record("x/1", "not json") +
        record("x/2", goodPayload(1), sender, "::bad::") +
        record("old-bus/2", goodPayload(2)) +
        record("x/3", '["job:run",[1],{}]'),
    );
    const { broker, runs } = await replay(t, file);
    await waitFor(() => runs.includes(2), "the good record delivered");
    await waitFor(() => broker.held <= 3, "the good record released");
    assert.deepEqual(runs, [2]);
  });

  it("red team: a well-formed JSON record of the wrong shape in the middle of the file (or a torn middle line) does not silently drop every record after it", {
    timeout: 20_000,
  }, async (t) => {
    const file = join(dir, "middle.log");
    // AckLog.open stops at the first line it cannot read ("can only be the last one, cut short by a crash").
    writeFileSync(
      file,
      record("old-bus/1", goodPayload(1)) +
        `${JSON.stringify({ m: 5 })}\n` +
        record("old-bus/2", goodPayload(2)) +
        '{"m":"torn\n' +
        record("old-bus/3", goodPayload(3)),
    );
    const { broker, runs, errors } = await replay(t, file);
    await waitFor(() => runs.includes(1), "the first record delivered");
    await sleep(600);
    assert.deepEqual(
      [...runs].sort(),
      [1, 2, 3],
      `held messages after the bad line were lost without a word (broker errors: ${errors.length}, held ${broker.held})`,
    );
    // Reported to the listener attached right after `start` (it used to fire while the ports were being
    // bound, before any listener: a process warning instead).
    assert.ok(
      errors.some((error) => error.name === "PersistError" && /2 record\(s\)/.test(error.message)),
      `no PersistError about the 2 skipped records reached the broker's error listener: ${errors.map((e) => e.message).join(" | ")}`,
    );
  });

  it("red team: a record whose payload holds a raw newline does not make the legitimate held messages of the same sender undeliverable (one DELIVER, its lines no longer matching its flags)", {
    timeout: 20_000,
  }, async (t) => {
    const file = join(dir, "newline.log");
    // Never written by a broker (lines are split on 0x0A), but nothing at load refuses it.
    const hostile = `${goodPayload(90)}\n${goodPayload(91)}`;
    writeFileSync(
      file,
      record("old-bus/1", goodPayload(1)) + record("old-bus/90", hostile) + record("old-bus/2", goodPayload(2)),
    );
    const { runs, link } = await replay(t, file);
    await sleep(1_500);
    assert.deepEqual(
      [...runs].filter((n) => n === 1 || n === 2).sort(),
      [1, 2],
      `the two legitimate held messages were never delivered (the worker rejected ${link.stats.rejected} line(s) in DELIVERs whose flags did not match)`,
    );
  });

  it("red team: a record whose senderId holds a space is refused at load (its senderId is written into DELIVER's space-separated first frame: fields shift, flags read as the sender's id's tail)", {
    timeout: 20_000,
  }, async (t) => {
    const file = join(dir, "space.log");
    writeFileSync(file, record("old-bus/1", goodPayload(1), `${sender} x y`) + record("old-bus/2", goodPayload(2)));
    const { broker, runs, errors, link } = await replay(t, file);
    await waitFor(() => runs.includes(2), "the good record delivered");
    await sleep(600);
    // Protocol 1 sent the senderId as a frame of its own; in protocol 2 "<id> M 0123… x y 1" has six
    // fields: the worker rejects the DELIVER, the broker resends it forever. (With "0123… 1" instead, the
    // fields read as senderId "0123…", flags "1", seq "1": a forged receipt for the worker's batch 1.)
    assert.equal(link.stats.rejected, 0, "the worker was sent DELIVERs it had to reject");
    assert.equal(
      broker.held,
      0,
      `the hostile record is still held and resent every 200 ms (held ${broker.held}; errors: ${errors.map((e) => e.message).join("; ")})`,
    );
  });

  it("cleans up", () => rmSync(dir, { recursive: true, force: true }));
});

describe("red team: what a BrokerLink is given to send", () => {
  it("red team: a message with a BigInt argument (twitter takes it) is refused alone; the messages before and after it still arrive", {
    timeout: 20_000,
  }, async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    broker.on("error", () => undefined);
    const senderBus = new Bus({ id: "rt-big-sender" });
    const receiverBus = new Bus({ id: "rt-big-receiver" });
    const got: unknown[] = [];
    receiverBus.follow("n:*", (m) => void got.push(m.args[0]));
    const receiver = await BrokerLink.connect({
      bus: receiverBus,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["n:*"],
    });
    const sender = await BrokerLink.connect({
      bus: senderBus,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      exportFilters: ["n:*"],
    });
    const errors: Error[] = [];
    sender.on("error", (error) => void errors.push(error));
    t.after(async () => {
      await sender.close();
      await receiver.close();
      broker.close();
    });
    senderBus.twitter("n:x", 1);
    senderBus.twitter("n:x", 2n);
    senderBus.twitter("n:x", 3);
    await sleep(1_000);
    senderBus.twitter("n:x", 4);
    await sleep(1_500);
    assert.deepEqual(
      got,
      [1, 3, 4],
      `delivered ${JSON.stringify(got.map(String))}; errors: ${errors.map((e) => e.message).join(" | ")}`,
    );
  });
});
