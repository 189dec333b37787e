// Balanced requests and request/response with restricted import filters, over in-process links.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { RequestTimeoutError } from "../../lib/request-errors.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep } from "../helpers/wait-for.js";

describe("balanced requests across links", () => {
  it("after one call to everybody, calls go to one answering bus at a time, round-robin", async () => {
    const asker = new Bus({ id: "asker" });
    const workers = ["w1", "w2", "w3"].map((id) => new Bus({ id }));
    const links = workers.flatMap((worker) => MemoryLink.pair({ bus: asker }, { bus: worker }));
    const handled = new Map<string, number>();
    for (const worker of workers) {
      worker.follow("work:do", (m) => {
        handled.set(worker.id, (handled.get(worker.id) ?? 0) + 1);
        return `${worker.id}:${String(m.args[0])}`;
      });
    }
    await sleep(20);
    await asker.request("work:do", 0, within({ balanced: true, timeout: 2_000 })); // discovery: all three run it
    await sleep(50);
    assert.deepEqual([...handled.values()], [1, 1, 1]);
    handled.clear();
    const answers = [];
    for (let i = 1; i <= 30; i++) answers.push(...(await asker.request("work:do", i, within({ balanced: true, timeout: 2_000 }))));
    await sleep(50);
    assert.equal(answers.length, 30);
    assert.deepEqual([...handled.entries()].sort(), [["w1", 10], ["w2", 10], ["w3", 10]], "each call ran on exactly one bus");
    // A bus that went away: the call addressed to it times out and it is forgotten.
    await links[5]?.close();
    await links[4]?.close();
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      try {
        const [answer] = await asker.request("work:do", i, within({ balanced: true, timeout: 300 }));
        outcomes.push(answer?.bus ?? "?");
      } catch (error) {
        assert.ok(error instanceof RequestTimeoutError);
        outcomes.push("timeout");
      }
    }
    assert.ok(outcomes.filter((o) => o === "timeout").length <= 1, `at most one timeout: ${outcomes.join(",")}`);
    assert.ok(!outcomes.slice(-4).includes("w3"), "w3 forgotten");
    for (const link of links) await link.close();
  });

  it("answers arrive even when the asker's import filters follow only its followers", async () => {
    const asker = new Bus();
    const answerer = new Bus();
    const [left, right] = MemoryLink.pair({ bus: asker, importFilters: "followers" }, { bus: answerer });
    answerer.follow("svc:echo", (m) => m.args[0]);
    assert.deepEqual(left.importFilters, [], "the answers' filter is built in, not one of the user's import filters");
    assert.equal(await asker.ask("svc:echo", "hi", within({ timeout: 2_000 })), "hi");
    await left.close();
    await right.close();
  });
});
