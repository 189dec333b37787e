// Red team (issue 10): while two good BrokerLinks exchange acknowledged messages through a broker child
// process with a persist file, raw DEALERs send seeded random protocol frames (forged acknowledged lines
// under heads of their own, ACKs naming the good links' messages, bad heads, HELLOs, garbage), and the
// broker is SIGKILLed mid-stream and restarted. The broker must keep serving, and each good link must get
// every acknowledged message exactly once, with its counters adding up.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import * as zmq from "zeromq";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { random } from "../../helpers/seeded-random.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { startBrokerChild } from "./broker-helpers.js";
import { heldInLog } from "../../helpers/persist-file.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-zmq-rt-ack-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const pick = <T>(rand: () => number, list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;

function compact(identifier: string, messageId: string, arg: unknown, hops: string[]): string {
  return JSON.stringify(toCompactEnvelope(toEnvelope(createMessage({ identifier, args: [arg], messageId, hops }))));
}

// A messageId one of the good links has used or will use ("alice/<n>", "bob/<n>").
function victimId(rand: () => number): string {
  return `${pick(rand, ["alice", "bob"])}/${1 + Math.floor(rand() * 400)}`;
}

// One hostile message (frames after the routing id) from an attacker whose own bus id is `me`.
function hostileFrames(rand: () => number, me: string, n: number): (string | Buffer)[] {
  const r = rand();
  if (r < 0.45) {
    // A well-formed PUBLISH whose lines lie or are garbage.
    const count = 1 + Math.floor(rand() * 3);
    const head: unknown[] = [`s${n}`, pick(rand, ["", "boot"])];
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const own = `${me}/${n * 10 + i}`;
      const kind = Math.floor(rand() * 6);
      if (kind === 0) {
        // Gap 1: a victim's messageId in the line, its own in the head.
        const victim = victimId(rand);
        head.push(pick(rand, ["ab:job", "ba:job"]), own, 1);
        lines.push(compact(victim.startsWith("alice") ? "ab:job" : "ba:job", victim, "forged", [me]));
      } else if (kind === 1) {
        head.push("ab:job", own, pick(rand, [0, 1]));
        lines.push(pick(rand, ["{not json", "[]", "null", '["ab:job"]', "\ufeff[1]"]));
      } else if (kind === 2) {
        // The head names another identifier than the line.
        head.push("ba:job", own, 1);
        lines.push(compact("raw:a", own, "misrouted", [me]));
      } else if (kind === 3) {
        // A valid acknowledged message nobody subscribes to: held (until expiry), the attacker's own quota.
        head.push("raw:a", own, pick(rand, [1, { e: 50 }, { u: "refuse" }]));
        lines.push(compact("raw:a", own, "raw", [me]));
      } else if (kind === 4) {
        // An unacknowledged line of its own to the good receiver: routed unread, taken by the receiver (not
        // followed there). Not a victim's messageId: nothing authenticates a line's origin, so a line that
        // claims a messageId first has it, and the real message is then dropped as its duplicate (see report).
        head.push("ab:noise", "", 0);
        lines.push(compact("ab:noise", own, "noise", [me]));
      } else {
        head.push(pick(rand, ["", "::", "*", "ab:*"]), own, pick(rand, [1, 2, null, { x: 1 }]));
        lines.push(compact("ab:job", own, "bad-head", [me]));
      }
    }
    return ["P", JSON.stringify(head), lines.join("\n")];
  }
  if (r < 0.65) {
    // ACKs naming the good links' messages: the attacker subscribes to none of them.
    const ids = Array.from({ length: 1 + Math.floor(rand() * 20) }, () => victimId(rand));
    return ["A", rand() < 0.9 ? JSON.stringify(ids) : "[1,"];
  }
  if (r < 0.75) {
    // Never a pattern that matches the good traffic: a subscriber may acknowledge what it is sent (see report).
    return [
      "H",
      JSON.stringify(pick(rand, [["raw:*"], [], ["x"], [5], ["raw:*", "nope:*"]])),
      "1",
      pick(rand, ["rc", "c", "", "r"]),
    ];
  }
  const kind = pick(rand, ["P", "A", "H", "B", "R", "M", "W", "T", "", "\u00ff"]);
  const frames: (string | Buffer)[] = [kind];
  for (let i = Math.floor(rand() * 4); i > 0; i--) frames.push(rand() < 0.5 ? randomBytes(Math.floor(rand() * 40)) : "[]");
  return frames;
}

describe("red team: acknowledged delivery under hostile clients and a SIGKILL", () => {
  it("two good links get every acknowledged message exactly once while three seeded raw DEALERs attack and the broker is killed -9 and restarted mid-stream", {
    timeout: 60_000,
  }, async (t) => {
    const seed = 0x10ac4;
    const file = join(dir, "acks.log");
    const ports = { pubPort: await freePort(), recvPort: await freePort() };
    let broker = await startBrokerChild(ports.pubPort, ports.recvPort, file, undefined, true);
    const cleanup: (() => Promise<unknown> | unknown)[] = [() => broker.kill()];
    t.after(async () => {
      for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => undefined);
    });
    const options = { ...ports, heartbeatInterval: 100, sendTimeout: 500, retryDelay: { initial: 20, max: 200 } };
    const alice = await BrokerLink.connect({
      bus: new Bus({ id: "alice" }),
      ...options,
      importFilters: ["ba:*"],
      acknowledge: ["ab:*"],
    });
    cleanup.push(() => alice.close());
    const bob = await BrokerLink.connect({
      bus: new Bus({ id: "bob" }),
      ...options,
      importFilters: ["ab:*"],
      acknowledge: ["ba:*"],
    });
    cleanup.push(() => bob.close());
    const errors: BerryError[] = [];
    for (const link of [alice, bob]) link.on("error", (error) => void errors.push(error));
    const gotByBob: unknown[] = [];
    const gotByAlice: unknown[] = [];
    bob.bus.follow("ab:job", (m) => void gotByBob.push(m.args[0]));
    alice.bus.follow("ba:job", (m) => void gotByAlice.push(m.args[0]));

    let attacking = true;
    let hostileSent = 0;
    cleanup.push(() => {
      attacking = false;
    });
    const attackers = [0, 1, 2].map(async (a) => {
      const rand = random(seed + a);
      const me = `evil${a}`;
      const dealer = new zmq.Dealer({ routingId: randomBytes(8).toString("hex"), linger: 0, sendTimeout: 0 });
      dealer.connect(`tcp://127.0.0.1:${ports.recvPort}`);
      cleanup.push(() => dealer.close());
      for (let n = 0; attacking; n++) {
        try {
          await dealer.send(hostileFrames(rand, me, n));
          hostileSent++;
        } catch {
          if (dealer.closed) return; // the spec ended
          // EAGAIN while the broker is down
        }
        if (n % 20 === 0) await sleep(5);
      }
    });

    const N = 300;
    for (let i = 0; i < N; i++) {
      alice.bus.twitter("ab:job", `ab-${i}`);
      bob.bus.twitter("ba:job", `ba-${i}`);
      if (i % 10 === 9) await sleep(15);
      if (i === N / 2) {
        await broker.kill(); // SIGKILL mid-stream: whatever was confirmed is in the persist file
        broker = await startBrokerChild(ports.pubPort, ports.recvPort, file, undefined, true);
      }
    }
    const expected = (prefix: string): string[] => Array.from({ length: N }, (_, i) => `${prefix}-${i}`);
    await waitFor(
      () => new Set(gotByBob).size === N && new Set(gotByAlice).size === N,
      `every acknowledged message at its receiver (seed ${seed}; bob ${new Set(gotByBob).size}, alice ${new Set(gotByAlice).size})`,
      20_000,
    );
    await waitFor(() => alice.backlog === 0 && bob.backlog === 0, "both senders' batches confirmed", 10_000);
    // The good messages all acknowledged and logged as such: none of them is held after the replay below.
    await waitFor(
      () => heldInLog(file).filter((id) => id.startsWith("alice/") || id.startsWith("bob/")).length === 0,
      "the broker to log every good message's acknowledgement",
      10_000,
    );
    attacking = false;
    await Promise.all(attackers);
    assert.ok(hostileSent > 500, `the attackers got through to the broker (${hostileSent} hostile messages)`);
    assert.match(broker.output(), /ready/);

    // Exactly once, nothing hostile reached a good follower.
    assert.deepEqual([...gotByBob].sort(), expected("ab").sort(), `bob: each of alice's messages once (seed ${seed})`);
    assert.deepEqual([...gotByAlice].sort(), expected("ba").sort(), `alice: each of bob's messages once (seed ${seed})`);
    // Counters add up: each message taken by the transport once, injected once, acknowledged.
    assert.equal(alice.stats.sent, N);
    assert.equal(bob.stats.sent, N);
    assert.equal(bob.brokerStats.refused + alice.brokerStats.refused, 0, "a good link's message is never refused");
    assert.equal(bob.brokerStats.acksSent >= N && alice.brokerStats.acksSent >= N, true);
    assert.equal(bob.brokerStats.unconsumed + alice.brokerStats.unconsumed, 0);
    const typed = errors.every((error) => typeof error.code === "string");
    assert.ok(typed, `every error typed: ${errors.map(String).join("; ")}`);

    // The broker still serves after the attack: a fresh message goes through.
    alice.bus.twitter("ab:job", "after");
    await waitFor(() => gotByBob.includes("after"), "a message after the attack");
  });
});
