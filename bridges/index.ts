export { type Envelope, ENVELOPE_LIMITS, checkJsonValue, fromEnvelope, toEnvelope } from "./envelope.js";
export {
  ConnectTimeoutError,
  HeldAnswerDroppedError,
  InvalidEnvelopeError,
  LinkDownError,
  LinkListenerError,
  LinkOverflowError,
  LinkUndeliveredError,
  UnsendableMessageError,
} from "./errors.js";
export { type CloseReport, Link, type LinkEvents, type LinkOptions, type LinkStats } from "./link.js";
