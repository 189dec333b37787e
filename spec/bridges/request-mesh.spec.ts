// A full mesh of real PeerLinks (HTTP bridge servers on 127.0.0.1, one bus each): each message crosses
// each link at most once, and an answer goes back to the asker only.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

describe("a full mesh of 4 PeerLinks", () => {
  const buses = Array.from({ length: 4 }, (_, i) => new Bus({ id: `pmesh${i}` }));
  let servers: BridgeServer[] = [];
  const links: PeerLink[] = [];
  // Every envelope any peer link takes in (the links opened here and those the servers opened back),
  // counted per receiving bus, answers apart.
  const envelopes = new Map<string, number>();
  const answers = new Map<string, number>();
  const accept = PeerLink.prototype.accept;
  before(async () => {
    PeerLink.prototype.accept = function (this: PeerLink, frame: unknown) {
      const bus = this.bus.id;
      const key = (frame as { inReplyTo?: unknown }).inReplyTo === undefined ? envelopes : answers;
      if (!String((frame as { id?: unknown }).id).startsWith("berrymq-link:")) key.set(bus, (key.get(bus) ?? 0) + 1);
      return accept.call(this, frame);
    };
    servers = await Promise.all(buses.map((bus) => serve({ bus })));
    for (let i = 1; i < 4; i++) {
      for (let j = 0; j < i; j++) {
        links.push(await PeerLink.connect((servers[j] as BridgeServer).url, { bus: buses[i] as Bus, server: servers[i] as BridgeServer }));
      }
    }
    await sleep(300); // the links tell each other their neighbours
  });
  after(async () => {
    PeerLink.prototype.accept = accept;
    for (const bus of buses) bus.on("error", () => {}); // servers closing one by one: links back report it
    for (const link of links) await link.close();
    await Promise.all(servers.map((server) => server.close()));
  });

  it("delivers each message once per process, crossing 3 links per message, not re-forwarded", async () => {
    envelopes.clear();
    const seen = buses.map(() => new Map<string, number>());
    buses.forEach((bus, i) => {
      bus.follow("pm:*", (m) => void seen[i]?.set(m.messageId, (seen[i]?.get(m.messageId) ?? 0) + 1));
    });
    for (let i = 0; i < 200; i++) (buses[i % 4] as Bus).twitter("pm:tick", i);
    await waitFor(() => seen.every((s) => s.size === 200), "200 messages on every bus", 15_000);
    await sleep(300);
    assert.ok(seen.every((s) => [...s.values()].every((n) => n === 1)), "once per process");
    const crossed = [...envelopes.values()].reduce((a, b) => a + b, 0);
    assert.equal(crossed, 200 * 3, `each message crossed 3 links (got ${crossed / 200} per message)`);
  });

  it("an answer crosses one link, to the asker only", async () => {
    answers.clear();
    (buses[2] as Bus).follow("pm:ask", (m) => `pong ${String(m.args[0])}`);
    assert.equal(await (buses[0] as Bus).ask("pm:ask", 1, within({ timeout: 5_000 })), "pong 1");
    await sleep(200);
    assert.deepEqual([...answers.entries()], [["pmesh0", 1]]);
  });
});
