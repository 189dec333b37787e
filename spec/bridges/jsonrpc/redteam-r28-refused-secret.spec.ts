// A server whose `peerSecret` is not the secret of the server that linked to it: its link back is answered
// HTTP 401 on every send. That was reported as any outage, "far side unreachable, retrying", with the 401
// at the end of the message: the operator looked for a network problem. The report now says the far side
// refuses this link's credentials and names the setting.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LinkDownError } from "../../../bridges/errors.js";
import { PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("a link back refused for its secret (r28)", () => {
  it("is reported as refused credentials naming peerSecret, not as an unreachable far side", async () => {
    const a = new Bus({ id: "r28-secret-a" });
    const c = new Bus({ id: "r28-secret-c" });
    const reports: Error[] = [];
    c.on("error", (error) => void reports.push(error));
    const serverA = await serve({ bus: a, secret: "secret-a" });
    const wrong = await serve({ bus: c, secret: "secret-c", peerSecret: "not-secret-a" });
    const link = await PeerLink.connect(wrong.url, { bus: a, server: serverA, secret: "secret-c" });
    try {
      c.twitter("app:back", 1); // c's link back to a sends it, with the wrong secret
      await waitFor(() => reports.some((error) => error instanceof LinkDownError), "c's link back reports", 10_000);
      const down = reports.find((error) => error instanceof LinkDownError) as LinkDownError;
      assert.match(down.message, /refuses this link's credentials/);
      assert.match(down.message, /peerSecret/);
      assert.match(down.message, /HTTP 401/);
      assert.doesNotMatch(down.message, /unreachable/);
    } finally {
      await link.close();
      await Promise.all([serverA.close(), wrong.close()]);
    }
  });

  it("an unreachable far side is still reported so", () => {
    const down = new LinkDownError("PeerLink", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }));
    assert.match(down.message, /far side unreachable/);
  });
});
