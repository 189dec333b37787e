// Red team r32: a PeerLink receives through its local bridge server (the far side posts there). When that
// server closes while `PeerLink.connect` waits for the far side's handshake, connect resolved all the same:
// a link that looked connected and would never hear the far side again. Likewise a connected link whose
// server closed went on looking open. Now connect rejects with PeerServerClosedError naming the server, and a
// connected link reports it on its `error` event and closes itself (what it buffered is flushed first).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PeerLink, PeerServerClosedError, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("red team r32: a PeerLink whose local bridge server closed", () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close().catch(() => undefined);
  });

  it("connect() rejects with PeerServerClosedError when the server closes during the handshake", async () => {
    const farBus = new Bus({ id: "r32-closed-far" });
    const far = await serve({ bus: farBus });
    const bus = new Bus({ id: "r32-closed-near" });
    bus.on("error", () => {});
    const server = await serve({ bus });
    closing.push(async () => {
      await server.close();
      await far.close();
      bus.close();
      farBus.close();
    });
    const url = server.url;
    const connecting = PeerLink.connect(far.url, { bus, server });
    // The handshake is a round trip away: the server closes first.
    const closed = server.close();
    const outcome = await connecting.then(
      (link) => link,
      (error: unknown) => error,
    );
    await closed;
    if (outcome instanceof PeerLink) await outcome.close();
    assert.ok(outcome instanceof PeerServerClosedError, `connect resolved to ${String(outcome)}`);
    assert.equal(outcome.code, "PEER_SERVER_CLOSED");
    assert.match(outcome.message, new RegExp(url.replaceAll(".", "\\.")));
    // Nothing of the link stays: the far side was told to close its link back.
    await waitFor(() => far.connections === 0, "the far side's link back to close", 5_000);
  });

  it("a connected link reports the server's close on its error event and closes; the far side's link back goes", async () => {
    const farBus = new Bus({ id: "r32-open-far" });
    const far = await serve({ bus: farBus });
    const bus = new Bus({ id: "r32-open-near" });
    const server = await serve({ bus });
    closing.push(async () => {
      await server.close();
      await far.close();
      bus.close();
      farBus.close();
    });
    const link = await PeerLink.connect(far.url, { bus, server });
    const errors: BerryError[] = [];
    link.on("error", (error) => void errors.push(error));
    const got: unknown[] = [];
    farBus.follow("r32:*", (message) => void got.push(message.args[0]));
    await waitFor(() => far.connections === 1, "the far side's link back");
    bus.twitter("r32:before", 1);
    await server.close();
    await waitFor(() => link.closing, "the link to close itself", 5_000);
    const closedError = errors.find((error) => error instanceof PeerServerClosedError);
    assert.ok(closedError, `errors: ${errors.map(String).join("; ")}`);
    // What it held went out in its flush.
    await waitFor(() => got.length === 1, "the buffered message at the far side");
    // The far side was told (berrymq.close): its link back is gone, not left posting to a closed server.
    await waitFor(() => far.connections === 0, "the far side's link back to close", 5_000);
    await link.close();
  });
});
