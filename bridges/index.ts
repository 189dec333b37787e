export { type Envelope, ENVELOPE_LIMITS, checkJsonValue, fromEnvelope, toEnvelope } from "./envelope.js";
export { ConnectTimeoutError, InvalidEnvelopeError, LinkDownError, LinkOverflowError, LinkUndeliveredError, UnsendableMessageError } from "./errors.js";
export { type CloseReport, Link, type LinkEvents, type LinkOptions, type LinkStats } from "./link.js";
export { HeldAnswerDroppedError } from "./link-table.js";
