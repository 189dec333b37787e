// Red team r32 (request/response): a balanced call through a relay. In a chain asker–hub–answerer, the hub's
// link toward the asker could not carry the addressed bus's answer (over the asker's frame limit, a full
// buffer): the hub sends the asker an error answer, as for any request (r23), but a balanced request took
// answers only from the bus it was addressed to, so it ignored the hub's, waited out its timeout (for ever
// with `timeout: Infinity`), and then forgot the answerer as silent, though it had answered.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Envelope } from "../../bridges/envelope.js";
import { Bus } from "../../lib/bus.js";
import type { Message } from "../../lib/message.js";
import { within } from "../../lib/request.js";
import { RemoteError } from "../../lib/request-errors.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep } from "../helpers/wait-for.js";
import { settled } from "../helpers/settled-within.js";

// A link whose far side takes frames of at most `limit` characters (as a PeerLink server's body bound).
class BoundedLink extends MemoryLink {
  limit = Number.POSITIVE_INFINITY;
  protected override async transmit(batch: Envelope[]): Promise<void> {
    if (batch.some((envelope) => JSON.stringify(envelope).length > this.limit)) throw new Error("413: over the far side's limit");
    return super.transmit(batch);
  }
  protected override unwritable(message: Message): string | undefined {
    return JSON.stringify(message.args).length > this.limit ? "over the far side's limit" : undefined;
  }
}

function chain(): { asker: Bus; close(): Promise<void> } {
  const [asker, hub, answerer] = [new Bus({ id: "r32-asker" }), new Bus({ id: "r32-hub" }), new Bus({ id: "r32-answerer" })];
  for (const bus of [asker, hub, answerer]) bus.on("error", () => {});
  answerer.follow("svc:size", (m) => "x".repeat(m.args[0] as number));
  const links = [...BoundedLink.pair({ bus: asker }, { bus: hub }), ...BoundedLink.pair({ bus: hub }, { bus: answerer })];
  (links[1] as BoundedLink).limit = 2_000; // hub -> asker
  return {
    asker,
    close: async () => {
      for (const link of links) await link.close();
      for (const bus of [asker, hub, answerer]) bus.close();
    },
  };
}

describe("red team r32: a balanced call whose answer a relay cannot carry", () => {
  it("a balanced ask gets the relay's RemoteError at once, not its timeout (Infinity)", async () => {
    const { asker, close } = chain();
    await sleep(20);
    assert.equal(await asker.ask("svc:size", 2, within({ balanced: true, timeout: 2_000 })), "xx"); // learns the answerer
    const error = await settled(
      asker.ask("svc:size", 5_000, within({ balanced: true, timeout: Number.POSITIVE_INFINITY })),
      3_000,
    );
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(error.remoteName, "UnsendableMessageError");
    assert.equal(error.bus, "r32-hub", "the bus that could not pass it on says so");
    assert.equal(asker.pendingRequests, 0);
    await close();
  });

  it("a balanced request with a timeout ends with the error answer, and the answerer is not forgotten", async () => {
    const { asker, close } = chain();
    await sleep(20);
    await asker.ask("svc:size", 2, within({ balanced: true, timeout: 2_000 }));
    const started = performance.now();
    const [answer] = await asker.request("svc:size", 5_000, within({ balanced: true, timeout: 4_000 }));
    assert.ok(performance.now() - started < 2_000, `ended after ${Math.round(performance.now() - started)} ms`);
    assert.ok(answer !== undefined && !answer.ok && answer.error.remoteName === "UnsendableMessageError", String(answer));
    // The next balanced call still goes to the answerer alone (had it been forgotten, to everybody).
    let addressed: string | undefined;
    asker.on("message", (m) => {
      if (m.replyTo !== undefined && m.name === "svc") addressed = m.to;
    });
    assert.equal(await asker.ask("svc:size", 3, within({ balanced: true, timeout: 2_000 })), "xxx");
    assert.equal(addressed, "r32-answerer");
    await close();
  });
});
