// Red team r24: an answer that goes out on every link (its bus knows no way back to the asker) and that
// every one of those links drops. The bus sent an error answer only when the dropping link was the
// answer's one route, so the asker waited out its timeout (for ever with `timeout: Infinity`). Now, once
// each link that carried it dropped it, the error answer goes out on the same links and reaches the asker
// through whichever leads there.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { RemoteError } from "../../lib/request-errors.js";
import { within } from "../../lib/request.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep } from "../helpers/wait-for.js";

const outcome = (promise: Promise<unknown>): Promise<unknown> => promise.then((value) => value, (error: unknown) => error);

describe("red team r24: an answer every link it went out on dropped", () => {
  it("a BigInt answer sent everywhere after its way back closed: the asker gets a RemoteError through the other path", async () => {
    // A-H-B and A-K-B; K passes only other:* on to B, so B never learns that A is reachable through K.
    const [a, h, k, b] = ["A", "H", "K", "B"].map((id) => new Bus({ id: `r24u-${id}` })) as [Bus, Bus, Bus, Bus];
    for (const bus of [a, h, k, b]) bus.on("error", () => {});
    b.follow("svc:big", async () => {
      await sleep(300);
      return 2n ** 70n;
    });
    const ah = MemoryLink.pair({ bus: a }, { bus: h });
    const bh = MemoryLink.pair({ bus: b }, { bus: h });
    const ak = MemoryLink.pair({ bus: a }, { bus: k });
    const kb = MemoryLink.pair({ bus: k, exportFilters: ["other:*"] }, { bus: b });
    await sleep(50);
    const asked = outcome(a.ask("svc:big", within({ timeout: 5_000 })));
    await sleep(100);
    for (const link of bh) await link.close(); // the request's way back closes before B answers
    const error = await asked;
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(error.remoteName, "UnsendableMessageError");
    assert.equal(error.bus, "r24u-B");
    assert.equal(a.pendingRequests, 0);
    for (const link of [...ah, ...ak, ...kb]) await link.close();
  });

  it("dropped by one of two links it went out on: no error answer, the value comes by the other", async () => {
    // The same, with a second unrouted link from B to a dead end D whose buffer is full.
    const [a, h, k, b, d] = ["A", "H", "K", "B", "D"].map((id) => new Bus({ id: `r24v-${id}` })) as [Bus, Bus, Bus, Bus, Bus];
    for (const bus of [a, h, k, b, d]) bus.on("error", () => {});
    b.follow("svc:slow", async () => {
      await sleep(300);
      return "value";
    });
    const ah = MemoryLink.pair({ bus: a }, { bus: h });
    const bh = MemoryLink.pair({ bus: b }, { bus: h });
    const ak = MemoryLink.pair({ bus: a }, { bus: k });
    const kb = MemoryLink.pair({ bus: k, exportFilters: ["other:*"] }, { bus: b });
    const bd = MemoryLink.pair({ bus: b, bufferSize: 2 }, { bus: d });
    await sleep(50);
    bd[0].reachable = false;
    for (let i = 0; i < 5; i++) b.twitter("fill:x", i);
    await sleep(20);
    const answers = a.request("svc:slow", within({ count: "all", timeout: 1_000 }));
    await sleep(100);
    for (const link of bh) await link.close();
    const got = await answers;
    assert.deepEqual(
      got.map((answer) => (answer.ok ? `ok ${String(answer.value)}` : `error ${answer.error.remoteName}`)),
      ["ok value"],
    );
    for (const link of [...ah, ...ak, ...kb, ...bd]) await link.close();
  });
});
