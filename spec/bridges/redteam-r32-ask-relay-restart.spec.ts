// Red team r32 (request/response): an answer over a chain of processes, asker A (here) – relay B – answerer
// C (child processes over PeerLinks), and the middle hop killed -9 and restarted (same bus id, same port)
// while C works on the answer. B's new process knows nothing of the request; A's link to B finds another
// process at B's address. Whatever happens to the answer, A's request with `timeout: Infinity` must end:
// with the answer (relayed by the new B), or with RequestLinkClosedError caused by LinkLostError (the link
// it went out on lost its far side), never hang. And afterwards the chain answers again.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { LinkLostError } from "../../lib/errors.js";
import { within } from "../../lib/request.js";
import { RequestLinkClosedError } from "../../lib/request-errors.js";
import { freePort } from "../helpers/free-port.js";
import { untilLinked } from "./linked-child.js";
import { type RequestPeer, startRequestPeer } from "./request-process.js";
import { outcome, settled } from "../helpers/settled-within.js";

describe("red team r32: the middle hop of a chain restarts while the answer is on its way", () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close();
  });

  it("the asker's request ends (answer or RequestLinkClosedError), and the chain answers again", {
    timeout: 40_000,
  }, async () => {
    const bus = new Bus({ id: "r32-rr-asker" });
    bus.on("error", () => {});
    const server = await serve({ bus });
    closing.push(async () => {
      await server.close();
      bus.close();
    });
    const port = await freePort();
    const relayConfig = { busId: "r32-rr-relay", transport: "jsonrpc-server", port };
    let relay: RequestPeer = await startRequestPeer(relayConfig);
    closing.push(() => relay.kill());
    const link = await PeerLink.connect(relay.url as string, {
      bus,
      server,
      ttl: 1,
      pingInterval: 100,
      retryDelay: { initial: 20, max: 200 },
    });
    link.on("error", () => {});
    closing.push(() => link.close());
    const answerer = await startRequestPeer({ busId: "r32-rr-answerer", transport: "jsonrpc", url: relay.url, ttl: 1 });
    closing.push(() => answerer.kill());
    await untilLinked(bus, "r32-rr-answerer");
    const late = (ms: number): Promise<unknown> =>
      outcome(bus.ask("r24:late", ms, within({ timeout: Number.POSITIVE_INFINITY })));
    // The relay follows r24:late too: killed before 1.5 s, only the answerer's answer can come.
    const asked = late(1_500);
    // Once a later request is answered by both, the slow one reached both (each link sends in order).
    assert.equal((await bus.request("r23:whoami", within({ count: 2, timeout: 5_000 }))).length, 2);
    await relay.kill();
    relay = await startRequestPeer(relayConfig);
    const ended = await settled(asked, 20_000);
    assert.ok(
      (typeof ended === "string" && ended.startsWith("late from")) ||
        (ended instanceof RequestLinkClosedError && ended.cause instanceof LinkLostError),
      String(ended),
    );
    // The chain answers again: the new relay and the answerer both.
    const deadline = Date.now() + 15_000;
    let answers: string[] = [];
    while (answers.length < 2 && Date.now() < deadline) {
      const got = await bus.request<{ bus: string }>("r23:whoami", within({ count: "all", timeout: 500 }));
      answers = got.flatMap((a) => (a.ok ? [a.value.bus] : [])).sort();
    }
    assert.deepEqual(answers, ["r32-rr-answerer", "r32-rr-relay"]);
  });
});
