// Red team r22: the broker's CLI options as an operator types them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";
import { runBrokerCli } from "./broker-helpers.js";

describe("berrymq broker (CLI): red team r22", () => {
  it("red team: --expiry Infinity and --max-expiry Infinity (the documented 'never') start a broker; a negative or NaN expiry is still refused with exit code 2", {
    timeout: 20_000,
  }, async () => {
    const broker = runBrokerCli([
      "--pub-port",
      String(await freePort()),
      "--recv-port",
      String(await freePort()),
      "--expiry",
      "Infinity",
      "--max-expiry",
      "Infinity",
    ]);
    try {
      await waitFor(
        () => /berrymq broker: pub|exit|error|refused|expected/i.test(broker.output()),
        "the broker's banner or its refusal",
        10_000,
      );
      assert.match(broker.output(), /berrymq broker: pub tcp:/);
    } finally {
      broker.kill();
      await broker.exited;
    }
    for (const bad of ["-1", "NaN", "-Infinity"]) {
      const refused = runBrokerCli(["--pub-port", "0", "--recv-port", "0", "--expiry", bad]);
      assert.equal(await refused.exited, 2, `--expiry ${bad}: ${refused.output()}`);
    }
  });
});
