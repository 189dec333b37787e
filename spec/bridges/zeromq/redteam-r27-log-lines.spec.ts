// r27 red team: the broker's log named a client's patterns whole on every change of its subscriptions: a
// client's 1,000 patterns of 30 KB made a 30 MB line each time (the CLI's --verbose prints each to stdout,
// a pipe whose slow reader blocks the whole broker). A line now names at most 10, each cut to 80 characters.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";

describe("zeromq broker: log lines of registrations (r27)", () => {
  it("a registration and a change of long pattern lists make short log lines", async (t) => {
    const lines: string[] = [];
    const broker = await Broker.start({ pubPort: 0, recvPort: 0, log: (line) => void lines.push(line) });
    const patterns = Array.from({ length: 200 }, (_, i) => `${"n".repeat(2_000)}${i}:run`);
    const link = await BrokerLink.connect({ bus: new Bus(), pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: patterns });
    t.after(async () => {
      await link.close();
      broker.close();
    });
    await link.subscribe(`${"m".repeat(5_000)}:run`);
    const named = lines.filter((line) => line.includes("registered") || line.includes("subscribes to"));
    assert.equal(named.length, 2, lines.map((line) => line.slice(0, 100)).join("\n"));
    for (const line of named) {
      assert.ok(line.length < 1_500, `a log line of ${line.length} characters`);
      assert.match(line, / and \d+ more$/);
    }
  });
});
