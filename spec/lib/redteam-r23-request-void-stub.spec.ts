// Red team r23: a stub of an exposed function that returns nothing (`stub<[string], void>`) could never
// resolve. A follower's `undefined` result is no answer, so the function ran and every call still
// rejected with RequestTimeoutError (forever pending with `timeout: Infinity`). expose() and @exposed now
// answer `null` for nothing, here and across a link.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus, expose, exposed, Follower, stub, within } from "../../lib/index.js";
import { sleep } from "../helpers/wait-for.js";

describe("red team r23: stubs of functions that return nothing", () => {
  it("expose(): sync and async void functions answer null; a value of its own is unchanged", async () => {
    const bus = new Bus();
    const log: string[] = [];
    expose("audit:log", (line: string) => void log.push(line), { bus });
    expose("audit:flush", async () => {
      await sleep(1);
      log.push("flushed");
    }, { bus });
    expose("audit:count", () => log.length, { bus });
    const write = stub<[string], void>("audit:log", { bus, timeout: 1_000 });
    const flush = stub<[], void>("audit:flush", { bus, timeout: 1_000 });
    assert.equal(await write("a"), null);
    assert.equal(await flush(), null);
    assert.equal(await stub<[], number>("audit:count", { bus })(), 2);
    assert.deepEqual(log, ["a", "flushed"]);
    assert.equal(bus.pendingRequests, 0);
    bus.close();
  });

  it("@exposed (applied as experimentalDecorators does): a void method answers null", async () => {
    const bus = new Bus();
    class Door {
      opened = 0;
      open(): void {
        this.opened++;
      }
    }
    exposed("door:open")(Door.prototype, "open", Object.getOwnPropertyDescriptor(Door.prototype, "open") as PropertyDescriptor);
    const Registered = Follower({ bus })(Door);
    const door = new Registered();
    assert.equal(await stub<[], void>("door:open", { bus, timeout: 1_000 })(), null);
    assert.equal(door.opened, 1);
    bus.close();
  });

  it("across a PeerLink: the far void function's answer arrives", async () => {
    const asker = new Bus();
    const worker = new Bus();
    const [askerServer, workerServer] = await Promise.all([serve({ bus: asker }), serve({ bus: worker })]);
    const link = await PeerLink.connect(workerServer.url, { bus: asker, server: askerServer });
    try {
      let calls = 0;
      expose("job:kick", () => void calls++, { bus: worker });
      const kick = stub<[], void>("job:kick", { bus: asker, timeout: 5_000 });
      // The link needs a moment after connecting: ask until the far side answers.
      let answer: unknown = "none";
      for (let i = 0; i < 50 && answer === "none"; i++) answer = await asker.ask("job:kick", within({ timeout: 200 })).catch(() => "none");
      assert.equal(answer, null);
      const before = calls;
      assert.equal(await kick(), null);
      assert.equal(calls, before + 1);
    } finally {
      await link.close();
      await Promise.all([askerServer.close(), workerServer.close()]);
      asker.close();
      worker.close();
    }
  });
});
