// Request/response through a ZeroMQ broker (BrokerLink), the answering bus in a child process.
import { requestConformance } from "./link-conformance.js";
import { zeromqParent } from "./request-parents.js";

requestConformance("zeromq", () => zeromqParent("rq-parent-zeromq", true), true);
