// r27: a link's `error`, `down` or `up` listener that throws. Thrown into the link's failure path, it
// left the batch's retry unarmed (an unhandled rejection, and the link never sent again, its messages
// reported nowhere); now the throw becomes a process warning (`error`) or a LinkListenerError on the
// link's `error` event (`up`, `down`), and the link goes on retrying and delivers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorListenerError } from "../../lib/errors.js";
import { Bus } from "../../lib/bus.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { waitFor } from "../helpers/wait-for.js";

describe("a link whose listeners throw (r27)", () => {
  it("keeps retrying and delivers; the throws are reported, never thrown into the link", async (t) => {
    const a = new Bus({ id: "a" });
    const b = new Bus({ id: "b" });
    const got: number[] = [];
    b.follow("job:run", (m) => void got.push(m.args[0] as number));
    const [left, right] = MemoryLink.pair({ bus: a, retryDelay: { initial: 5, max: 20 } }, { bus: b });
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    process.on("warning", onWarning);
    process.on("unhandledRejection", onRejection);
    t.after(async () => {
      process.off("warning", onWarning);
      process.off("unhandledRejection", onRejection);
      await left.close();
      await right.close();
    });
    const reported: string[] = [];
    left.on("error", (error) => {
      reported.push(error.code);
      throw new Error("error listener bug");
    });
    left.on("down", () => {
      throw new Error("down listener bug");
    });
    left.on("up", () => {
      throw new Error("up listener bug");
    });
    left.reachable = false;
    a.twitter("job:run", 1);
    await waitFor(() => left.stats.retries >= 3, "the link retries past its listeners' throws", 3_000);
    left.reachable = true;
    await waitFor(() => got.length === 1, "the message once the far side is back", 3_000);
    a.twitter("job:run", 2);
    await waitFor(() => got.length === 2, "a later message", 3_000);
    assert.deepEqual(got, [1, 2]);
    assert.deepEqual(rejections, [], "nothing thrown into the link's promise chain");
    assert.ok(reported.includes("LINK_DOWN"), "the link's error listener heard its failure");
    assert.ok(reported.includes("LINK_LISTENER_FAILED"), "the down/up listener's throw was reported on 'error'");
    await waitFor(() => warnings.some((w) => w instanceof ErrorListenerError), "the error listener's throw as a warning");
  });
});
