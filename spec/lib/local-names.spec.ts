// Local names and namespaces at a process boundary: what a link exports, and what arrives on the far bus.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, isLocal, type Message, parseIdentifier } from "../../lib/index.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep } from "../helpers/wait-for.js";

describe("local names and namespaces across links", () => {
  it("a name starting with '_' is local: delivered here, never exported, even with a '*:*' export filter", async () => {
    const here = new Bus();
    const there = new Bus();
    const [out, back] = MemoryLink.pair({ bus: here }, { bus: there });
    const local: string[] = [];
    const remote: string[] = [];
    here.follow("*:*", (m) => void local.push(m.id));
    here.follow("*@ns:*", (m) => void local.push(m.id));
    there.follow("*:*", (m) => void remote.push(m.id));
    there.follow("*@ns:*", (m) => void remote.push(m.id));
    here.twitter("_cache:flush");
    here.twitter("_cache@ns:flush");
    here.twitter("cache:flush");
    await sleep(20);
    assert.deepEqual(local, ["_cache:flush", "_cache@ns:flush", "cache:flush"]);
    assert.deepEqual(remote, ["cache:flush"]);
    assert.equal(out.stats.sent, 1);
    assert.equal(isLocal(parseIdentifier("_x@ns:y")), true);
    assert.equal(isLocal(parseIdentifier("x_:_y")), false);
    await Promise.all([out.close(), back.close()]);
  });

  it("a namespace travels in the identifier and routes inside it on the far bus", async () => {
    const here = new Bus();
    const there = new Bus();
    const [out, back] = MemoryLink.pair({ bus: here }, { bus: there });
    const inLayer: Message[] = [];
    const inDefault: Message[] = [];
    there.follow("*@layer:entry", (m) => void inLayer.push(m));
    there.follow("*:*", (m) => void inDefault.push(m));
    here.twitter("x@layer:entry", 1);
    here.twitter("x:entry", 2);
    await sleep(20);
    assert.deepEqual(inLayer.map((m) => [m.id, m.name, m.args]), [["x@layer:entry", "x", [1]]]);
    assert.deepEqual(inDefault.map((m) => m.id), ["x:entry"]);
    await Promise.all([out.close(), back.close()]);
  });
});
