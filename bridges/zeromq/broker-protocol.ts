// The broker's wire protocol, shared by the broker and its client link. Every message is a ZeroMQ
// multipart message; the first frame (after the Router's identity frame) is one of these kinds.
// A batch of messages travels as a fixed number of frames, whatever its size: zeromq.js pays per frame
// (one JS Buffer each way), so one frame per envelope made the framing cost more than the messages. For the
// same reason (protocol 2) a PUBLISH is 3 frames and a DELIVER 2: small fields share a frame (a raw relay
// making 6-frame sends instead of 2-frame ones spent ~35 µs more CPU a round trip).
//
// client → broker (DEALER → ROUTER on the recv port):
//   HELLO    ["H", patternsJson, version, features]  register / refresh (doubles as the client heartbeat);
//                                                 version counts the client's subscription changes; features:
//                                                 "r" = this client takes its receipts on DELIVERs to it (below),
//                                                 "c" = it reads compact envelope lines (protocol 2; required:
//                                                 a HELLO without it is refused and gets no welcome),
//                                                 "k" = it answers the broker's MARKs (see MARK below)
//   PUBLISH  ["P", headJson, body]              answered by RECEIPT; head = [seq, bootId, identifier, messageId, policy, …];
//                                                 seq: the client's number for the batch (1 to 32 visible ASCII
//                                                 characters); bootId: of the broker whose WELCOME the client heard,
//                                                 "" if none yet (see DELIVER seq); a head with no readable seq gets
//                                                 no RECEIPT (the client times out)
//                                                 (messageId may be "" when policy is 0: only held messages need it)
//                                                 (policy: 0, 1 = acknowledge, or {e: expiry ms | null, u: "hold" | "refuse"},
//                                                 see delivery-policy.ts), one triple per envelope line of body
//   PUBLISH  ["P<headJson>\n<body>"]             the same publish in one frame (head and body joined by the first
//                                                 newline: JSON holds none), to a broker whose WELCOME says feature
//                                                 "p"; a BrokerLink sends a body of up to SMALL_BODY bytes this way
//                                                 when the frame surely stays within twice its maxMessageBytes
//                                                 (two frames less each way: a one-message round trip took ~2 %
//                                                 less p50, ~4.5 % less p90, ~2 % less CPU than with 3 frames)
//   ACK      ["A", messageIdsJson]               the client's followers finished these
//   MARK     ["K", bytes]                         the client read the broker's MARK of `bytes` (echoed as it came)
//   BYE      ["B"]                                the client leaves
// broker → client (ROUTER → DEALER):
//   RECEIPT  ["R", seq, errorJson | "", noSubscriberJson?, invalidJson?]  the batch was taken (and logged) or refused;
//                                                 noSubscriber = [[messageId, identifier], …] refused at once
//                                                 ("[]" when only invalid follows); invalid = [[messageId,
//                                                 identifier, reason], …] acknowledged lines refused for good:
//                                                 not a valid envelope, or not the head's identifier and messageId
//   REFUSED  ["N", version, errorJson]            a HELLO was refused (too many patterns, a bad one, maxClients):
//                                                 its version and {code, message}; a registered client keeps
//                                                 the patterns it had and stays registered (older links ignore it)
// broker → clients (PUB on the pub port; the first frame starts with the topic, a client id or "*" for all,
// which is what SUB filters on, and holds the message's small fields separated by spaces):
//   DELIVER  ["<topic> M <senderId> <flags>[ <seq>]", body]  flags: one "0"/"1" per envelope line of body (1 = acknowledge);
//                                                 seq, on a DELIVER to one client (topic = its id): the RECEIPT of
//                                                 that client's batch seq, for a client whose HELLO has feature "r",
//                                                 whose PUBLISH named this broker's bootId and which was sent a
//                                                 DELIVER lately (see Broker's receiptDelay), when the batch held no
//                                                 acknowledged message and refused nothing; no "R" follows. Such a
//                                                 receipt waits at most the broker's receiptDelay for a DELIVER to
//                                                 that client, then goes alone as "R" (a ping-pong needs no "R").
//                                                 seq, on a broadcast ("*") that ends a batch with nothing to log
//                                                 or report, from a registered client whose PUBLISH named this
//                                                 broker's bootId: it is that batch's RECEIPT (the sender hears its
//                                                 own broadcast), and no "R" follows
//                                                 topic "*" only when every client but the sender wants them and
//                                                 there are two or more (a broadcast reaches the sender too: for one
//                                                 other client, a DELIVER to it and a RECEIPT cost less)
//   WELCOME  ["<clientId> W <bootId> <version> <features>"]  answer to HELLO, proves the PUB path is up; echoes
//                                                 its version; features: "p" = this broker takes one-frame PUBLISHes
//                                                 (an older broker sends no features field: older links ignore it)
//   BEAT     ["* T <bootId>"]                    broker heartbeat; a new bootId means a restart
//   MARK     ["<clientId> K <bytes>"]             to a client whose HELLO has feature "k": the bytes of deliveries
//                                                 sent to it so far (a count the broker keeps, from a random start
//                                                 below 2^47 per registration of the client); the client echoes it
//                                                 once it read it, so the broker knows how much it sent is still
//                                                 unread (see Broker's maxSubscriberQueueBytes)
//
// body = the envelopes' JSON joined by "\n": JSON.stringify never writes a raw newline, and no byte of a
// multi-byte UTF-8 character is 0x0A, so splitting the bytes on 0x0A gives back the envelopes.
// Protocol 2: a BrokerLink writes each envelope in its compact form (a JSON array, compact-envelope.ts);
// a receiver takes either form per line (an envelope object is what protocol 1 wrote, and what a persist
// file of an older broker holds). The broker never reads the lines: it routes on the head.

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
  helloRefused: "N",
  mark: "K",
});

/** HELLO feature: the client takes the receipt of its batch on a DELIVER addressed to it. */
export const FEATURE_CARRIED_RECEIPT = "r";

/**
 * HELLO feature: the client reads compact envelopes (protocol 2, see compact-envelope.ts). A broker
 * refuses a HELLO without it: a client of protocol 1 (an older berrymq) would refuse every compact line
 * it is sent.
 */
export const FEATURE_COMPACT = "c";

/**
 * HELLO feature: the client answers each MARK the broker sends it, once read: the broker then bounds the
 * bytes it sent the client and the client has not read (maxSubscriberQueueBytes).
 */
export const FEATURE_MARKS = "k";

/** The features a BrokerLink says in its HELLO. */
export const CLIENT_FEATURES = `${FEATURE_CARRIED_RECEIPT}${FEATURE_COMPACT}${FEATURE_MARKS}`;

/** WELCOME feature: the broker takes a PUBLISH as one frame, `P<headJson>\n<body>`. */
export const FEATURE_ONE_FRAME_PUBLISH = "p";

/** The features a Broker says in its WELCOME. */
export const BROKER_FEATURES = FEATURE_ONE_FRAME_PUBLISH;

/** PUB topic that reaches every client. */
export const BROADCAST = "*";

/** Entries before the envelopes' in a PUBLISH head: seq, bootId. */
export const HEAD_PREFIX = 2;

/** Entries per envelope in a PUBLISH head: identifier, messageId, ack flag. */
export const HEAD_STRIDE = 3;

/** A batch's seq: it is echoed in DELIVER's space-separated first frame, so it holds no space. */
export const SEQ = /^[\x21-\x7e]{1,32}$/;

/** Separates the fields of a PUB message's first frame (DELIVER, WELCOME, BEAT). */
export const FIELD_SEPARATOR = " ";

/**
 * The first frame of a PUB message: the topic (what SUB filters on), the kind and the small fields,
 * separated by spaces (no field holds one: ids are hex, bootIds UUIDs, flags 0/1, a seq is checked).
 */
export function pubFrame(topic: string, kind: string, ...fields: string[]): string {
  let frame = `${topic}${FIELD_SEPARATOR}${kind}`;
  for (const field of fields) frame += `${FIELD_SEPARATOR}${field}`;
  return frame;
}

/**
 * The first frame of a DELIVER, as {@link pubFrame} writes it, in one template: pubFrame's rest array and
 * its string appended field by field cost ~250 bytes on every delivery of a one-message round trip.
 */
export function deliverFrame(topic: string, senderId: string, flags: string, seq?: string): string {
  return seq === undefined
    ? `${topic}${FIELD_SEPARATOR}${Kind.deliver}${FIELD_SEPARATOR}${senderId}${FIELD_SEPARATOR}${flags}`
    : `${topic}${FIELD_SEPARATOR}${Kind.deliver}${FIELD_SEPARATOR}${senderId}${FIELD_SEPARATOR}${flags}${FIELD_SEPARATOR}${seq}`;
}

/** Client ids are fixed-length hex, so that no id's PUB topic is a prefix of another's. */
export const CLIENT_ID_LENGTH = 16;

/** What a client id looks like (lower-case hex). */
export const CLIENT_ID = new RegExp(`^[0-9a-f]{${CLIENT_ID_LENGTH}}$`);

/** The flag of a message that must be acknowledged (in DELIVER flags; `1` in a PUBLISH head). */
export const ACK_REQUIRED = "1";

/** The flag of a message without acknowledgement. */
export const NO_ACK = "0";
