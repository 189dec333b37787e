import { NEIGHBOURS_ID } from "../../lib/reserved.js";
import type { Envelope } from "../envelope.js";

/** Default span of a PeerLink's {@link ResendWindow}, in ms. */
export const RESEND_WINDOW_MS = 10_000;
/** Most messages a {@link ResendWindow} keeps. */
export const RESEND_WINDOW_MESSAGES = 10_000;
/** Most characters (of the batches' JSON on the stream) a {@link ResendWindow} keeps: 16 Mi. */
export const RESEND_WINDOW_BYTES = 16 * 1024 * 1024;

interface Kept {
  readonly envelopes: readonly Envelope[];
  readonly at: number;
  readonly bytes: number;
}

/**
 * The batches a far side acknowledged within the last `ms` (at most RESEND_WINDOW_MESSAGES messages and
 * RESEND_WINDOW_BYTES, oldest forgotten first). A far process acknowledges a batch once its bus took it,
 * before its own links forwarded it: killed meanwhile, it took those messages with it. The link sends the
 * window's plain messages again to the process that answers there next (see PeerLink), whose links forward
 * them; a bus that had them already drops them by messageId.
 */
export class ResendWindow {
  readonly #ms: number;
  #kept: Kept[] = [];
  #head = 0;
  #messages = 0;
  #bytes = 0;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Keeps an acknowledged batch (`bytes`: its size on the wire); nothing when the window is 0 ms. */
  add(envelopes: readonly Envelope[], bytes: number): void {
    if (this.#ms <= 0 || envelopes.length === 0) return;
    const now = performance.now();
    this.#kept.push({ envelopes, at: now, bytes });
    this.#messages += envelopes.length;
    this.#bytes += bytes;
    this.#trim(now);
  }

  /**
   * Empties the window: its plain messages still within `ms`, oldest first. Neighbour lists, requests and
   * answers are left out: a request sent again would be answered again, an answer is its asker's once.
   */
  take(): Envelope[] {
    this.#trim(performance.now());
    const taken: Envelope[] = [];
    for (let i = this.#head; i < this.#kept.length; i++) {
      for (const envelope of (this.#kept[i] as Kept).envelopes) {
        if (envelope.id === NEIGHBOURS_ID || envelope.replyTo !== undefined || envelope.inReplyTo !== undefined) continue;
        if (envelope.to !== undefined) continue;
        taken.push(envelope);
      }
    }
    this.clear();
    return taken;
  }

  /** Forgets everything kept. */
  clear(): void {
    this.#kept = [];
    this.#head = 0;
    this.#messages = 0;
    this.#bytes = 0;
  }

  #trim(now: number): void {
    const kept = this.#kept;
    while (this.#head < kept.length) {
      const oldest = kept[this.#head] as Kept;
      if (now - oldest.at <= this.#ms && this.#messages <= RESEND_WINDOW_MESSAGES && this.#bytes <= RESEND_WINDOW_BYTES) break;
      this.#messages -= oldest.envelopes.length;
      this.#bytes -= oldest.bytes;
      this.#head++;
    }
    // Compacted once the forgotten part is most of the array.
    if (this.#head > 1_024 && this.#head * 2 > kept.length) {
      this.#kept = kept.slice(this.#head);
      this.#head = 0;
    }
  }
}
