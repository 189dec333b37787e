// Red team r27: in a mesh a bus did not forward a message to a far bus when the message's sender links to
// that far bus and exports it there, without asking whether the far bus TAKES it from the sender: with
// import filters on the far bus's link to the sender narrower than on its link to us, the message reached
// the far bus by neither link, silently (nothing counted, nothing reported). Now each bus announces what it
// takes from each neighbour too, and a message is left to the sender only when the far bus takes it there.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import type { Link } from "../../bridges/link.js";
import { Bus } from "../../lib/bus.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

function follow(bus: Bus): string[] {
  const got: string[] = [];
  bus.follow("*:*", (m) => void got.push(`${m.id} ${String(m.args[0])}`));
  return got;
}

describe("a mesh whose links import differently (in-process links)", () => {
  it("a message the far bus does not take from its sender still reaches it through this bus", async () => {
    const [a, b, c] = ["ia", "ib", "ic"].map((id) => new Bus({ id })) as [Bus, Bus, Bus];
    const links = [
      ...MemoryLink.pair({ bus: a }, { bus: b }),
      // c takes only x:* from a; everything from b.
      ...MemoryLink.pair({ bus: a }, { bus: c, importFilters: ["x:*"] }),
      ...MemoryLink.pair({ bus: b }, { bus: c }),
    ];
    const got = follow(c);
    await sleep(20); // the links tell each other their neighbours
    a.twitter("x:1", 1);
    a.twitter("y:1", 1);
    await waitFor(() => got.length === 2, `x:1 and y:1 on c (got ${JSON.stringify(got)})`, 2_000);
    await sleep(30);
    assert.deepEqual(got.sort(), ["x:1 1", "y:1 1"], "each once");
    for (const link of links) await link.close();
  });

  it("follows import filters changed at run time (unsubscribe, subscribe)", async () => {
    const [a, b, c] = ["ja", "jb", "jc"].map((id) => new Bus({ id })) as [Bus, Bus, Bus];
    const [ab, ba] = MemoryLink.pair({ bus: a }, { bus: b });
    const [ac, ca] = MemoryLink.pair({ bus: a }, { bus: c });
    const [bc, cb] = MemoryLink.pair({ bus: b }, { bus: c });
    const links: Link[] = [ab, ba, ac, ca, bc, cb];
    const got = follow(c);
    await sleep(20);
    a.twitter("y:1", 1);
    await waitFor(() => got.length === 1, "y:1 on c");
    await sleep(20);
    assert.equal(cb.stats.received + cb.stats.duplicates, 0, "a full mesh: y:1 did not cross b-c");
    // c now takes only x:* from a: y:* must come through b.
    await ca.unsubscribe("*:*");
    await ca.subscribe("x:*");
    await sleep(20);
    a.twitter("y:2", 2);
    await waitFor(() => got.length === 2, `y:2 on c (got ${JSON.stringify(got)})`, 2_000);
    assert.equal(cb.stats.received, 1, "y:2 came through b");
    // And back: c takes y:* from a again, so b leaves it to a.
    await ca.subscribe("y:*");
    await sleep(20);
    a.twitter("y:3", 3);
    await waitFor(() => got.length === 3, "y:3 on c");
    await sleep(20);
    assert.equal(cb.stats.received + cb.stats.duplicates, 1, "y:3 did not cross b-c");
    assert.deepEqual(got, ["y:1 1", "y:2 2", "y:3 3"]);
    for (const link of links) await link.close();
  });

  it("an older peer's list without imports is taken as before (it takes everything)", async () => {
    const [a, b, c] = ["ka", "kb", "kc"].map((id) => new Bus({ id })) as [Bus, Bus, Bus];
    const links = [
      ...MemoryLink.pair({ bus: a }, { bus: b }),
      ...MemoryLink.pair({ bus: a }, { bus: c }),
      ...MemoryLink.pair({ bus: b }, { bus: c }),
    ];
    const cb = links[5] as MemoryLink;
    const got = follow(c);
    // c's announcements to b lose their `imports`, as an older berrymq writes them.
    const bc = links[4] as MemoryLink;
    const accept = bc.accept.bind(bc);
    bc.accept = (frame: unknown) => {
      const f = frame as { id?: string; args?: { imports?: unknown }[][] };
      if (f.id === "berrymq-link:neighbours") for (const entry of f.args?.[0] ?? []) delete entry.imports;
      return accept(frame);
    };
    await sleep(20);
    a.twitter("z:1", 1);
    await waitFor(() => got.length === 1, "z:1 on c");
    await sleep(20);
    assert.equal(cb.stats.received + cb.stats.duplicates, 0, "z:1 did not cross b-c");
    for (const link of links) await link.close();
  });
});

describe("a mesh of PeerLinks whose links import differently (HTTP, 127.0.0.1)", () => {
  it("a message c does not take from a reaches c through b", async () => {
    const [a, b, c] = ["pia", "pib", "pic"].map((id) => new Bus({ id })) as [Bus, Bus, Bus];
    const servers: BridgeServer[] = await Promise.all([a, b, c].map((bus) => serve({ bus })));
    const [sa, sb, sc] = servers as [BridgeServer, BridgeServer, BridgeServer];
    const links = [
      await PeerLink.connect(sa.url, { bus: b, server: sb }),
      await PeerLink.connect(sa.url, { bus: c, server: sc, importFilters: ["x:*"] }),
      await PeerLink.connect(sb.url, { bus: c, server: sc }),
    ];
    const got = follow(c);
    try {
      await sleep(300); // the links tell each other their neighbours
      a.twitter("x:1", 1);
      a.twitter("y:1", 1);
      await waitFor(() => got.length === 2, `x:1 and y:1 on c (got ${JSON.stringify(got)})`, 3_000);
      await sleep(100);
      assert.deepEqual(got.sort(), ["x:1 1", "y:1 1"], "each once");
    } finally {
      for (const bus of [a, b, c]) bus.on("error", () => {});
      for (const link of links) await link.close();
      await Promise.all(servers.map((server) => server.close()));
    }
  });
});
