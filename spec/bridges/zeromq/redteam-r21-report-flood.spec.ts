// Red team r21, RPC: a peer sending junk must not become as many `error` events (or, with no listener, as
// many process warnings written to stderr): errors a peer causes are reported at a bounded rate and counted.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import type { BerryError } from "../../../lib/errors.js";
import { RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("zeromq RPC red team r21: error reports from junk", () => {
  it("1,000 junk frames give at most 10 error events a second; all are counted in stats", async (t) => {
    const server = await RpcServer.listen({ port: await freePort() });
    const errors: BerryError[] = [];
    server.on("error", (error) => void errors.push(error));
    const raw = new zmq.Dealer({ routingId: "junk", linger: 0 });
    raw.connect(`tcp://127.0.0.1:${server.port}`);
    t.after(() => {
      raw.close();
      server.close();
    });
    const started = Date.now();
    for (let i = 0; i < 500; i++) await raw.send(["junk", String(i)]);
    for (let i = 0; i < 500; i++) await raw.send(["rpc", "not json"]);
    await waitFor(() => server.stats.protocolErrors === 1_000, "every junk frame counted");
    const seconds = Math.ceil((Date.now() - started) / 1_000);
    assert.ok(errors.length <= 10 * seconds, `${errors.length} error events in ${seconds} s`);
    assert.equal(server.stats.unreported, 1_000 - errors.length);
  });
});
