// Red team (round 20): a request the links refuse to carry (JSON cannot carry an argument, or the link's
// buffer is full while its far side is down). Reported on the link as before; but a request that no link
// carries and no follower here may answer can get no answer: it must reject at once with the link's
// error, not wait for its timeout (forever with `timeout: Infinity`).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LinkOverflowError, UnsendableMessageError } from "../../bridges/errors.js";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { settlesWithin, sleep } from "../helpers/wait-for.js";

const forever = within({ timeout: Number.POSITIVE_INFINITY });
const outcome = (promise: Promise<unknown>): Promise<unknown> => promise.then((value) => value, (error: unknown) => error);

// An asker linked to `n` answering buses, each following `svc:echo`; link errors collected.
async function linked(name: string, n: number, bufferSize = 10_000) {
  const asker = new Bus({ id: `${name}-asker` });
  const reported: string[] = [];
  const answerers = Array.from({ length: n }, (_, i) => new Bus({ id: `${name}-answerer${i}` }));
  const links = answerers.map((answerer) => {
    answerer.follow("svc:echo", (m) => `${answerer.id} ${typeof m.args[0]}`);
    const [link, back] = MemoryLink.pair({ bus: asker, bufferSize }, { bus: answerer });
    link.on("error", (error) => void reported.push(error.code));
    return { link, back };
  });
  await sleep(10);
  const close = async (): Promise<void> => {
    for (const { link, back } of links) {
      link.reachable = true;
      await link.close();
      await back.close();
    }
    asker.close();
  };
  return { asker, links, reported, close };
}

describe("red team r20: a request the links refuse to carry", () => {
  it("a BigInt argument: rejects at once with UnsendableMessageError, also with two links", async () => {
    for (const n of [1, 2]) {
      const { asker, reported, close } = await linked(`drop-big${n}`, n);
      const asked = outcome(asker.ask("svc:echo", 10n, forever));
      assert.ok(await settlesWithin(asked, 2_000), "it ended at once");
      assert.ok((await asked) instanceof UnsendableMessageError, String(await asked));
      assert.deepEqual(reported, Array(n).fill("UNSENDABLE"), "still reported on each link");
      assert.equal(asker.pendingRequests, 0);
      await close();
    }
  });

  it("a full buffer while the far side is down: the request that overflowed rejects with LinkOverflowError, those buffered wait", async () => {
    const { asker, links, close } = await linked("drop-full", 1, 2);
    const only = links[0]?.link as MemoryLink;
    only.reachable = false;
    const buffered = [outcome(asker.ask("svc:echo", 1, forever)), outcome(asker.ask("svc:echo", 2, forever))];
    await sleep(20);
    const overflowing = outcome(asker.ask("svc:echo", 3, forever));
    assert.ok(await settlesWithin(overflowing, 2_000));
    assert.ok((await overflowing) instanceof LinkOverflowError, String(await overflowing));
    assert.equal(asker.pendingRequests, 2, "the buffered ones may still be answered");
    only.reachable = true;
    assert.deepEqual(await Promise.all(buffered), ["drop-full-answerer0 number", "drop-full-answerer0 number"]);
    await close();
  });

  it("one link full, another carrying it: the request waits and is answered", async () => {
    const { asker, links, close } = await linked("drop-one", 2, 1);
    const down = links[0]?.link as MemoryLink;
    down.reachable = false;
    void outcome(asker.ask("svc:echo", "fills the buffer", within({ timeout: 100 })));
    await sleep(20);
    const requested = await asker.request("svc:echo", "x", within({ count: "all", timeout: 300 }));
    assert.deepEqual(requested.map((a) => a.ok && a.value), ["drop-one-answerer1 string"]);
    await close();
  });

  it("a follower here may answer it: the request waits for that answer", async () => {
    const { asker, close } = await linked("drop-local", 1);
    asker.follow("svc:echo", (m) => `here ${typeof m.args[0]}`);
    assert.equal(await asker.ask("svc:echo", 10n, forever), "here bigint");
    await close();
  });
});
