// Request/response across a PeerLink (JSON-RPC over HTTP), with the answering bus in a child process.
import { serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { requestConformance } from "./link-conformance.js";

requestConformance("jsonrpc", async () => {
  const bus = new Bus({ id: "rq-parent-jsonrpc" });
  const server = await serve({ bus });
  return {
    bus,
    peer: { transport: "jsonrpc", url: server.url },
    close: async () => {
      await server.close();
      bus.close();
    },
  };
});
