import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";
import { runBrokerCli } from "./broker-helpers.js";

describe("berrymq broker (CLI)", () => {
  it("serves clients on the given ports, logs with --verbose, and exits 0 on SIGTERM", async () => {
    const pubPort = await freePort();
    const recvPort = await freePort();
    const broker = runBrokerCli([
      "--bind",
      "127.0.0.1",
      "--pub-port",
      String(pubPort),
      "--recv-port",
      String(recvPort),
      "--verbose",
    ]);
    await waitFor(() => broker.output().includes("berrymq broker: pub"), "the broker's banner", 10_000);
    const a = await BrokerLink.connect({ bus: new Bus(), pubPort, recvPort });
    const b = await BrokerLink.connect({ bus: new Bus(), pubPort, recvPort });
    const got: unknown[] = [];
    b.bus.follow("cli:hello", (m) => void got.push(m.args[0]));
    a.bus.twitter("cli:hello", "via the CLI broker");
    await waitFor(() => got.length === 1, "message through the CLI broker");
    assert.deepEqual(got, ["via the CLI broker"]);
    assert.match(broker.output(), /\[broker\] client [0-9a-f]{16} registered/);
    await a.close();
    await b.close();
    broker.kill();
    assert.equal(await broker.exited, 0);
  });

  it("refuses a bad option value with exit code 2, naming the value", async () => {
    const broker = runBrokerCli(["--pub-port", "seventy"]);
    assert.equal(await broker.exited, 2);
    assert.match(broker.output(), /invalid --pub-port "seventy": expected an integer/);
  });
});

describe("berrymq broker dead-letters (CLI)", () => {
  it("a broker run with --expiry and --dead-letter-file writes dead letters that `broker dead-letters FILE` lists", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-cli-dead-"));
    const file = join(dir, "dead.log");
    const pubPort = await freePort();
    const recvPort = await freePort();
    const broker = runBrokerCli([
      "--pub-port",
      String(pubPort),
      "--recv-port",
      String(recvPort),
      "--expiry",
      "200",
      "--dead-letter-file",
      file,
    ]);
    try {
      await waitFor(() => broker.output().includes("berrymq broker: pub"), "the broker's banner", 10_000);
      const sender = await BrokerLink.connect({
        bus: new Bus(),
        pubPort,
        recvPort,
        importFilters: ["none:none"],
        acknowledge: ["*:*"],
      });
      sender.bus.twitter("ordres:new", "typo");
      await waitFor(
        () => existsSync(file) && readFileSync(file, "utf8").includes("ordres:new"),
        "the dead letter in the file",
        10_000,
      );
      await sender.close();
      const list = runBrokerCli(["dead-letters", file]);
      assert.equal(await list.exited, 0);
      assert.match(list.output(), /expired {2}ordres:new {2}\S+ {2}from [0-9a-f]{16}/);
      assert.match(list.output(), /1 dead letter\(s\) in /);
      const json = runBrokerCli(["dead-letters", file, "--json"]);
      assert.equal(await json.exited, 0);
      assert.equal((JSON.parse(json.output().trim()) as { identifier: string }).identifier, "ordres:new");
      const bad = runBrokerCli(["dead-letters"]);
      assert.equal(await bad.exited, 2);
    } finally {
      broker.kill();
      await broker.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
