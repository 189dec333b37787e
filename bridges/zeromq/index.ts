export { type FsyncPolicy } from "./ack-log.js";
export { Broker, type BrokerEvents, type BrokerOptions, type BrokerStats } from "./broker.js";
export { BrokerLink, type BrokerLinkOptions, type BrokerLinkStats } from "./broker-link.js";
export {
  BrokerFullError,
  BrokerTimeoutError,
  PersistError,
  RpcAuthError,
  RpcClosedError,
  RpcMethodNotFoundError,
  RpcPeerLostError,
  RpcRemoteError,
  RpcTimeoutError,
  ZmqProtocolError,
} from "./errors.js";
