// Red team (round 23): forged messageIds against a bus in another process. A bus here sends its messages
// to a child process over a PeerLink; an attacker who sees their numbers (not their random suffixes)
// sends the child, through its bridge server, ids of the numbers it has seen and will see, first and
// after the real ones. The child's de-duplication (RecentIds) must deliver every real message once and
// every forged id once: no real one dropped as a duplicate, no copy delivered twice.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { random } from "../helpers/seeded-random.js";
import { waitFor } from "../helpers/wait-for.js";
import { type PeerProcess, startPeer } from "./jsonrpc/peer-process.js";
import { post } from "./jsonrpc/raw-http.js";

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

describe("red team r23: forged messageIds sent to a bus in another process", () => {
  let victim: PeerProcess;
  let bus: Bus;
  let server: BridgeServer;
  let link: PeerLink;
  before(async () => {
    victim = await startPeer({ busId: "victim", follow: "t:*" });
    bus = new Bus({ id: "real" });
    server = await serve({ bus });
    link = await PeerLink.connect(victim.url, { bus, server });
  });
  after(async () => {
    await link.close();
    await server.close();
    bus.close();
    await victim.stop();
  });

  it("ids of seen and coming numbers with other suffixes, sent before and after the real ones: each delivered once", async () => {
    const sent: string[] = [];
    bus.follow("t:x", (message) => void sent.push(message.messageId));
    bus.twitter("t:x", 0);
    await waitFor(() => victim.messages("t:x").length === 1, "the first real message at the victim", 15_000);
    const first = /^real\/(\d+)[A-Za-z0-9_-]{8}$/.exec(sent[0] as string)?.[1];
    assert.ok(first !== undefined, `a bus's messageId: ${sent[0]}`);
    const n0 = Number(first);
    const next = random(23);
    const otherSuffix = (): string => Array.from({ length: 8 }, () => BASE64URL[Math.floor(next() * 64)]).join("");
    const forged: string[] = [];
    for (let k = 0; k <= 300; k++) forged.push(`real/${n0 + k}${otherSuffix()}`, `real/${n0 + k}`);
    const token = (
      (await post(victim.url, { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "oneway", ttl: 60 } }))
        .body as { result: { token: string } }
    ).result.token;
    const sendAll = async (messageIds: string[]): Promise<unknown[]> => {
      const results: unknown[] = [];
      for (let i = 0; i < messageIds.length; i += 100) {
        const envelopes = messageIds
          .slice(i, i + 100)
          .map((messageId) => ({ v: 1, id: "t:x", args: ["forged"], kwargs: {}, messageId, timestamp: 0, hops: ["attacker"] }));
        const answer = await post(victim.url, { jsonrpc: "2.0", id: 2, method: "berrymq.sendAll", params: { token, envelopes } });
        results.push(...((answer.body as { result: unknown[] }).result ?? [answer.body]));
      }
      return results;
    };

    // Before the real ones: every forged id is new to the victim.
    assert.deepEqual(
      await sendAll(forged),
      forged.map(() => 1),
    );
    for (let i = 1; i <= 300; i++) bus.twitter("t:x", i);
    await waitFor(() => victim.messages("t:x").length === forged.length + 301, "300 real messages at the victim", 15_000);
    // After them: the same forged ids and the real ones again are duplicates; new forgeries are new.
    assert.deepEqual(
      await sendAll(forged),
      forged.map(() => null),
    );
    assert.deepEqual(
      await sendAll(sent),
      sent.map(() => null),
    );
    const late = sent.map((id) => `${id.slice(0, -8)}${otherSuffix()}`);
    assert.deepEqual(
      await sendAll(late),
      late.map(() => 1),
    );

    await waitFor(() => victim.messages("t:x").length === forged.length + 301 + late.length, "the late forgeries", 15_000);
    const delivered = victim.messages("t:x").map((event) => event.messageId as string);
    assert.equal(new Set(delivered).size, delivered.length, "no id delivered twice");
    assert.deepEqual(new Set(delivered), new Set([...sent, ...forged, ...late]));
    const real = victim.messages("t:x").filter((event) => (event.hops ?? [])[0] === "real");
    assert.deepEqual(
      real.map((event) => event.args?.[0]),
      Array.from({ length: 301 }, (_, i) => i),
      "every real message delivered, in order",
    );
  });
});
