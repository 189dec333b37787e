// Red team r31: `berrymq broker` that cannot bind. ZeroMQ's errors name no address: a port in use printed
// "berrymq broker: Address already in use" (which port of the two?), and `--bind ""` or a wrong interface
// "berrymq broker: No such device".
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { bounded } from "../../helpers/cli-process.js";
import { freePort } from "../../helpers/free-port.js";

describe("red team r31: berrymq broker that cannot bind", () => {
  it("names the address in use, exit 1", async (t) => {
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, "127.0.0.1", resolve));
    t.after(() => taken.close());
    const run = await bounded(["broker", "--pub-port", "0", "--recv-port", String(port)], {}, 20_000);
    assert.equal(run.killed, false, `the broker ran: ${run.stdout}`);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stderr, `berrymq broker: cannot bind tcp://127.0.0.1:${port}: Address already in use\n`);
  });

  it('refuses --bind "" with exit 2, and names a bind address that is no interface', async () => {
    const empty = await bounded(["broker", "--bind", "", "--pub-port", "0", "--recv-port", "0"], {}, 20_000);
    assert.equal(empty.code, 2, empty.stderr);
    assert.equal(empty.stderr, 'berrymq broker: invalid --bind "": expected an address or interface name\n');
    const nowhere = await bounded(["broker", "--bind", "no-such-interface", "--pub-port", "0", "--recv-port", "0"], {}, 20_000);
    assert.equal(nowhere.code, 1, nowhere.stderr);
    assert.equal(nowhere.stderr, "berrymq broker: cannot bind tcp://no-such-interface:*: No such device\n");
  });
});
