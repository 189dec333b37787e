// The broker's wire protocol, shared by the broker and its client link. Every message is a ZeroMQ
// multipart message; the first frame (after the Router's identity frame) is one of these kinds.
//
// client → broker (DEALER → ROUTER on the recv port):
//   HELLO    ["H", patternsJson]                      register / refresh (doubles as the client heartbeat)
//   PUBLISH  ["P", seq, (identifier, messageId, ack, envelopeJson) × n]   answered by RECEIPT
//   ACK      ["A", messageId × n]                     the client's followers took these
//   BYE      ["B"]                                     the client leaves
// broker → client (ROUTER → DEALER):
//   RECEIPT  ["R", seq, errorJson | ""]                the batch was taken (and logged) or refused
// broker → clients (PUB on the pub port; the first frame is the topic: a client id or "*" for all):
//   DELIVER  [topic, "M", senderId, (ack, envelopeJson) × n]
//   WELCOME  [clientId, "W", bootId]                    answer to HELLO, proves the PUB path is up
//   BEAT     ["*", "T", bootId]                         broker heartbeat; a new bootId means a restart

/** Frame kinds of the broker protocol. */
export const Kind = Object.freeze({
  hello: "H",
  publish: "P",
  ack: "A",
  bye: "B",
  receipt: "R",
  deliver: "M",
  welcome: "W",
  beat: "T",
});

/** PUB topic that reaches every client. */
export const BROADCAST = "*";

/** Frames per message in a PUBLISH batch, and in a DELIVER batch. */
export const PUBLISH_STRIDE = 4;
export const DELIVER_STRIDE = 2;

/** Client ids are fixed-length hex, so that no id's PUB topic is a prefix of another's. */
export const CLIENT_ID_LENGTH = 16;

/** The ack frame value of a message that must be acknowledged. */
export const ACK_REQUIRED = "1";
