// Red team r32 (request/response): a request one link refused (its buffer was full while its far side was
// down) and another carried. When the carrier closes, every link still open has refused it and no follower
// here answers it: it can get no answer, yet it waited for its timeout (for ever with `timeout: Infinity`),
// since a link still open that started before the request counted as carrying it, refusal or not.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LinkOverflowError } from "../../bridges/errors.js";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { RequestLinkClosedError } from "../../lib/request-errors.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep } from "../helpers/wait-for.js";
import { outcome, settled } from "../helpers/settled-within.js";

// An asker linked to "down" (unreachable, buffer of 1) and to "slow" (its follower answers after `slowMs`).
async function setup(slowMs: number) {
  const asker = new Bus({ id: "r32-rc-asker" });
  const down = new Bus({ id: "r32-rc-down" });
  const slow = new Bus({ id: "r32-rc-slow" });
  for (const bus of [asker, down, slow]) bus.on("error", () => {});
  down.follow("svc:x", () => "down");
  slow.follow("svc:x", async () => {
    await sleep(slowMs);
    return "slow";
  });
  const [toDown, downBack] = MemoryLink.pair({ bus: asker, bufferSize: 1 }, { bus: down });
  const [toSlow, slowBack] = MemoryLink.pair({ bus: asker }, { bus: slow });
  for (const link of [toDown, toSlow]) link.on("error", () => {});
  await sleep(10);
  toDown.reachable = false;
  void outcome(asker.ask("svc:x", "fills the buffer", within({ timeout: 10_000 })));
  await sleep(20);
  return {
    asker,
    toDown,
    toSlow,
    close: async () => {
      toDown.reachable = true;
      for (const link of [toDown, downBack, toSlow, slowBack]) await link.close();
      for (const bus of [asker, down, slow]) bus.close();
    },
  };
}

describe("red team r32: a request refused by one link, its carrier then closed", () => {
  it("ends with RequestLinkClosedError once the carrier closes, not at its timeout (Infinity)", async () => {
    const s = await setup(5_000);
    const asked = s.asker.ask("svc:x", "y", within({ timeout: Number.POSITIVE_INFINITY }));
    await sleep(20);
    await s.toSlow.close();
    const error = await settled(asked, 2_000);
    assert.ok(error instanceof RequestLinkClosedError, String(error));
    assert.equal(s.asker.pendingRequests, 1, "the buffered ask still waits: its link may come back");
    await s.close();
  });

  it('count "all" resolves with the answers it had', async () => {
    const s = await setup(5_000);
    const requested = s.asker.request("svc:x", "y", within({ count: "all", timeout: 60_000 }));
    await sleep(20);
    await s.toSlow.close();
    assert.deepEqual(await settled(requested, 2_000), []);
    await s.close();
  });

  it("a request the closing link had not refused, with the refusing link still open, keeps waiting while another carrier is open", async () => {
    const s = await setup(300);
    // Carried by the slow link; the down link's buffer is full: refused there. The slow link stays open.
    const asked = s.asker.ask("svc:x", "z", within({ timeout: 5_000 }));
    assert.equal(await settled(asked, 3_000), "slow");
    await s.close();
  });

  it("the refusal itself still rejects at once when no link carries it", async () => {
    const s = await setup(5_000);
    await s.toSlow.close();
    const error = await settled(s.asker.ask("svc:x", "w", within({ timeout: Number.POSITIVE_INFINITY })), 2_000);
    assert.ok(error instanceof LinkOverflowError, String(error));
    await s.close();
  });
});
