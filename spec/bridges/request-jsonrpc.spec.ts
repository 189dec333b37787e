// Request/response across a PeerLink (JSON-RPC over HTTP), with the answering bus in a child process.
import { requestConformance } from "./link-conformance.js";
import { jsonrpcParent } from "./request-parents.js";

requestConformance("jsonrpc", () => jsonrpcParent("rq-parent-jsonrpc"));
