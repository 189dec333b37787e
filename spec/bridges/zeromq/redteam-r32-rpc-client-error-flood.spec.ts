// Red team r32: a hostile server flooding an RpcClient with frames it refuses (junk `rpc` frames, login
// refusals) made one `error` event per frame (3,000 of each in about a second; with no listener, as many
// process warnings on stderr). The server bounds what its clients cause to 10 reports a second; the client
// now does the same for its server, counting the rest in `stats.unreported`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { RpcClient } from "../../../bridges/zeromq/index.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const FRAMES = 3_000;

describe("red team r32: an RpcClient flooded with frames it refuses", () => {
  it("reports at most 10 a second and counts every one", { timeout: 25_000 }, async (t) => {
    const router = new zmq.Router({ linger: 0, mandatory: true, sendTimeout: 0 });
    t.after(() => router.close());
    await router.bind("tcp://127.0.0.1:*");
    void (async () => {
      for await (const _ of router); // reads what the client sends (its answers), and drops it
    })().catch(() => {});
    const endpoint = router.lastEndpoint ?? "";
    const client = RpcClient.connect({ port: Number(endpoint.slice(endpoint.lastIndexOf(":") + 1)), identity: "r32-error-flood" });
    t.after(() => client.close());
    let errors = 0;
    client.on("error", () => {
      errors++;
    });
    // Each frame until the client's connection takes it (unroutable before it is up, full for a moment).
    const send = async (frames: string[]): Promise<void> => {
      const until = Date.now() + 10_000;
      while (!(await router.send(frames).then(() => true, () => false))) {
        assert.ok(Date.now() < until, "the client took no frame for 10 s");
        await sleep(5);
      }
    };
    const started = performance.now();
    for (let frame = 0; frame < FRAMES; frame++) {
      await send([client.identity, "rpc", "not json {"]);
      await send([client.identity, "login-no", "refused"]);
    }
    // (A client from before the fix has no such count.)
    const unreported = (): number => (client.stats as { unreported?: number }).unreported ?? 0;
    await waitFor(() => errors + unreported() === 2 * FRAMES, `every refusal counted (${errors} + ${unreported()})`, 10_000);
    const seconds = (performance.now() - started) / 1_000;
    // Before the fix: 6,000 events.
    assert.ok(errors <= 10 * (Math.ceil(seconds) + 1), `${errors} errors emitted in ${seconds.toFixed(1)} s`);
  });
});
