// Red team r29: a link whose buffer held only requests that ended (timed out while its far side was down)
// dropped them unsent (r28) and then stopped its send loop still `isDown`: with nothing left to send it never
// tried its far side again, and told no `up` when the far side came back, until the bus sent something
// else. Now a link down with nothing to send probes its far side with its last neighbour list (backoff as
// for messages; a timer that keeps no process alive; none after close()) and tells `up` once it answers. A
// link with no such list (it takes no control messages) takes a frame from its far side as its answer.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { RequestTimeoutError } from "../../lib/request-errors.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

// A link to a far side that takes no control messages (as a berryMQ 0.3 peer): it has nothing to probe with.
class ControlFreeLink extends MemoryLink {
  protected override get carriesControl(): boolean {
    return false;
  }
}

// Asks `count` requests on `link`'s bus while its far side is unreachable, and waits until they all timed
// out and the link is down with nothing left to send (the ended requests out of its buffer).
async function endedWhileDown(link: MemoryLink, count: number): Promise<void> {
  // The link's first neighbour list goes first: one still undelivered would be retried anyway.
  await sleep(50);
  const ended = link.stats.ended;
  link.reachable = false;
  const asks = Array.from({ length: count }, (_, i) =>
    link.bus.ask("r29:ask", i, within({ timeout: 200 })).then(
      () => "answered",
      (error: unknown) => error,
    ),
  );
  for (const error of await Promise.all(asks)) assert.ok(error instanceof RequestTimeoutError, String(error));
  assert.equal(link.isDown, true, "the far side refused the asks");
  await waitFor(() => link.stats.ended - ended === count, `the ${count} asks taken out unsent`, 10_000);
  assert.equal(link.backlog, 0);
}

describe("red team r29: a link down whose buffer held only requests that ended", () => {
  it("tells `up` once its far side answers again, with nothing more sent, and probes no more after close()", async () => {
    const [left, right] = MemoryLink.pair({ bus: new Bus(), retryDelay: { initial: 10, max: 40 } }, { bus: new Bus() });
    left.on("error", () => {});
    let ups = 0;
    left.on("up", () => void ups++);
    const sent = left.stats.sent;
    await endedWhileDown(left, 5);

    // Down for a while: the probes go with the backoff, bounded by retryDelay.max (at most one per 40 ms).
    const retries = left.stats.retries;
    await sleep(400);
    assert.equal(left.isDown, true);
    const probes = left.stats.retries - retries;
    assert.ok(probes >= 2 && probes <= 16, `${probes} probes in 400 ms`);

    left.reachable = true;
    await waitFor(() => !left.isDown, "the link up again without a send", 10_000);
    assert.equal(ups, 1);
    assert.equal(left.stats.sent, sent, "no message sent: the requests that ended stayed unsent");
    assert.equal(right.stats.received, 0);

    // Down again, closed while it probes: no probe after close(), and no `up`.
    await endedWhileDown(left, 1);
    await left.close();
    const closedAt = left.stats.retries;
    left.reachable = true;
    await sleep(200);
    assert.equal(left.stats.retries, closedAt, "no probe after close()");
    assert.equal(ups, 1);
    await right.close();
  });

  it("sends a message dispatched while it probes at once, and tells `up` when it goes", async () => {
    const [left, right] = MemoryLink.pair({ bus: new Bus(), retryDelay: { initial: 5, max: 60_000 } }, { bus: new Bus() });
    left.on("error", () => {});
    const got: unknown[] = [];
    right.bus.follow("r29:after", (m) => void got.push(m.args[0]));
    let ups = 0;
    left.on("up", () => void ups++);
    await endedWhileDown(left, 1);
    // Nine probes failed (5 ms doubling: ~2.5 s): the next waits 2.56 s.
    await waitFor(() => left.stats.retries >= 10, "ten failures", 20_000);
    left.reachable = true;
    left.bus.twitter("r29:after", 1);
    await waitFor(() => got.length === 1, "the message delivered, not after the probe's backoff", 1_500);
    assert.equal(left.isDown, false);
    assert.equal(ups, 1);
    await left.close();
    await right.close();
  });

  it("with nothing to probe with, takes a frame from its far side as its answer", async () => {
    const [left, right] = ControlFreeLink.pair({ bus: new Bus(), retryDelay: { initial: 10, max: 40 } }, { bus: new Bus() });
    left.on("error", () => {});
    let ups = 0;
    left.on("up", () => void ups++);
    await endedWhileDown(left, 2);
    const retries = left.stats.retries;
    left.reachable = true;
    await sleep(200);
    assert.equal(left.stats.retries, retries, "no probe: nothing to probe with");
    assert.equal(left.isDown, true, "nothing told it the far side is back");
    right.bus.twitter("r29:hello");
    await waitFor(() => !left.isDown, "the link up on the far side's frame", 5_000);
    assert.equal(ups, 1);
    await left.close();
    await right.close();
  });

  it("keeps no process alive while it probes", async () => {
    const helper = new URL("../helpers/memory-link.ts", import.meta.url).pathname;
    const bus = new URL("../../lib/bus.ts", import.meta.url).pathname;
    const request = new URL("../../lib/request.ts", import.meta.url).pathname;
    // The scenario above, in a process left to end once the link probes: nothing else holds it.
    const script = `
      const { MemoryLink } = await import(${JSON.stringify(helper)});
      const { Bus } = await import(${JSON.stringify(bus)});
      const { within } = await import(${JSON.stringify(request)});
      const [left] = MemoryLink.pair({ bus: new Bus(), retryDelay: { initial: 10, max: 40 } }, { bus: new Bus() });
      left.on("error", () => {});
      await new Promise((resolve) => setTimeout(resolve, 50));
      left.reachable = false;
      await left.bus.ask("r29:ask", within({ timeout: 100 })).catch(() => {});
      const retries = left.stats.retries;
      await new Promise((resolve) => setTimeout(resolve, 300));
      console.log(JSON.stringify({ down: left.isDown, ended: left.stats.ended, probes: left.stats.retries - retries }));`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (status) => resolve(status)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const status = await exited;
    clearTimeout(timer);
    assert.equal(status, 0, `the process ended by itself (printed ${out})`);
    const printed = JSON.parse(out) as { down: boolean; ended: number; probes: number };
    assert.equal(printed.down, true);
    assert.equal(printed.ended, 1);
    assert.ok(printed.probes > 0, "it probed when left");
  });
});
