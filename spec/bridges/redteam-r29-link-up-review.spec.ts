// Red team review of r29 (a link down with nothing left to send probes its far side with its last neighbour
// list, and tells `up` once it answers):
// - a neighbour list announced while the probe's timer waited (any link of the bus opening, closing or
//   changing its filters) was sent at once, and its failure armed a second probe timer over the first, whose
//   handle was lost: two probe loops from then on, one more per such announcement, each at the backoff's
//   pace (a probe storm during a long outage of a hub), none of them cleared by a frame from the far side;
// - a probe (or a batch) still with the transport when close() returned, taken by the far side afterwards,
//   told `up` on a closed link.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Envelope } from "../../bridges/envelope.js";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { RequestTimeoutError } from "../../lib/request-errors.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

// A MemoryLink whose transmit can be held: while `holding`, a batch waits with the transport until
// `release()` (then it goes through as usual, reachable or not as `reachable` says then).
class HeldLink extends MemoryLink {
  holding = false;
  readonly held: (() => void)[] = [];

  protected override transmit(batch: Envelope[]): Promise<void> {
    if (!this.holding) return super.transmit(batch);
    return new Promise<void>((resolve) => this.held.push(resolve)).then(() => super.transmit(batch));
  }

  release(): void {
    this.holding = false;
    for (const resolve of this.held.splice(0)) resolve();
  }
}

// Asks on `link`'s bus while its far side is unreachable until the asks time out: the link is down with
// nothing left to send (the asks taken out unsent), so it probes.
async function endedWhileDown(link: MemoryLink): Promise<void> {
  await sleep(50); // the link's first neighbour list through
  link.reachable = false;
  const error = await link.bus.ask("r29r:ask", within({ timeout: 150 })).catch((e: unknown) => e);
  assert.ok(error instanceof RequestTimeoutError, String(error));
  await waitFor(() => link.stats.ended === 1 && link.isDown, "the ask taken out unsent, the link down", 10_000);
  assert.equal(link.backlog, 0);
}

describe("red team r29 review: the probe of a link down with nothing to send", () => {
  it("stays one loop at the backoff's pace when neighbour lists are announced while it waits", async () => {
    const [left, right] = MemoryLink.pair({ bus: new Bus(), retryDelay: { initial: 10, max: 100 } }, { bus: new Bus() });
    left.on("error", () => {});
    let ups = 0;
    left.on("up", () => void ups++);
    await endedWhileDown(left);
    await sleep(300); // the backoff at its max (10, 20, 40, 80, 100 ms…)

    // Ten new neighbour lists (an import filter more each time: the table re-announces), while the probe waits.
    for (let i = 0; i < 10; i++) {
      await left.subscribe(`r29r:extra${i}`);
      await sleep(15);
    }
    const retries = left.stats.retries;
    await sleep(1_000);
    const probes = left.stats.retries - retries;
    // One loop: about 10 in a second at 100 ms apart (a timer late on a loaded machine makes fewer). Eleven
    // loops made about 110.
    assert.ok(probes <= 20, `${probes} probes in 1 s, at most one per 100 ms expected`);
    assert.equal(left.isDown, true);

    left.reachable = true;
    await waitFor(() => !left.isDown, "the link up", 5_000);
    assert.equal(ups, 1);
    await left.close();
    const closedAt = left.stats.retries;
    await sleep(250);
    assert.equal(left.stats.retries, closedAt, "no probe after close()");
    await right.close();
  });

  it("tells no `up` after close() for a probe that was with the transport", async () => {
    const [left, right] = HeldLink.pair({ bus: new Bus(), retryDelay: { initial: 10, max: 40 } }, { bus: new Bus() });
    left.on("error", () => {});
    const events: string[] = [];
    left.on("up", () => void events.push("up"));
    left.on("down", () => void events.push("down"));
    await endedWhileDown(left);
    left.holding = true;
    await waitFor(() => left.held.length > 0, "a probe with the transport", 5_000);
    const report = await left.close();
    assert.deepEqual(report.undelivered, []);
    events.push("closed");
    left.reachable = true;
    left.release(); // the far side takes the probe, after close() returned
    await sleep(100);
    assert.deepEqual(events, ["down", "closed"]);
    await right.close();
  });

  it("tells no `up` after close() for a batch the far side took after close() gave up on it", async () => {
    const [left, right] = HeldLink.pair(
      { bus: new Bus(), retryDelay: { initial: 10, max: 40 }, closeTimeout: 100 },
      { bus: new Bus() },
    );
    left.on("error", () => {});
    const events: string[] = [];
    left.on("up", () => void events.push("up"));
    left.on("down", () => void events.push("down"));
    await sleep(50);
    left.reachable = false;
    left.bus.twitter("r29r:late", 1);
    await waitFor(() => left.isDown, "the link down", 5_000);
    left.holding = true;
    await waitFor(() => left.held.length > 0, "a retry with the transport", 5_000);
    // close()'s deadline timer keeps no process alive, nor does the held batch: this does, meanwhile.
    const alive = setTimeout(() => {}, 10_000);
    const report = await left.close();
    clearTimeout(alive);
    assert.equal(report.undelivered.length, 1, "close() gave up on the message");
    events.push("closed");
    left.reachable = true;
    left.release();
    await sleep(100);
    assert.deepEqual(events, ["down", "closed"]);
    await right.close();
  });
});
