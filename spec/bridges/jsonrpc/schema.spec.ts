// Schemas at the PeerLink (JSON-RPC) boundary: a far process (no schemas) sends invalid payloads over
// HTTP; this bus refuses them before any follower (see schema-conformance.ts).
import { it } from "node:test";
import { PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { assertOnlyValidDelivered, FAR_MESSAGES, linkErrors, schemaBus } from "../schema-conformance.js";
import { startPeer } from "./peer-process.js";

it("PeerLink: invalid payloads from a far process are counted, reported with the issues, never delivered", async () => {
  const child = await startPeer({ busId: "far", follow: "nothing:here" });
  const { bus, seen } = schemaBus("jsonrpc-schemas");
  const server = await serve({ bus });
  const link = await PeerLink.connect(child.url, { bus, server });
  const errors = linkErrors(link);
  try {
    for (const [id, args, kwargs] of FAR_MESSAGES) child.command({ cmd: "twitter", id, args, kwargs: kwargs ?? {} });
    await assertOnlyValidDelivered(link, seen, errors, 0);
  } finally {
    await link.close();
    await child.stop();
    await server.close();
    bus.close();
  }
});
