// An in-process transport for the Link base: frames go through JSON to the other end, and the far side
// can be switched off to exercise buffering and retry. Used by the Link specs only.
import type { Envelope } from "../../bridges/envelope.js";
import { Link, type LinkOptions } from "../../bridges/link.js";

export class MemoryLink extends Link {
  peer: MemoryLink | undefined;
  /** While false, transmit rejects as if the far side were down. */
  reachable = true;
  /** Batches handed to transmit, as sizes (messages only, not the links' control messages). */
  readonly batches: number[] = [];

  constructor(options: LinkOptions) {
    super(options);
  }

  /** Links two buses both ways. */
  static pair<T extends MemoryLink>(this: new (options: LinkOptions) => T, a: LinkOptions, b: LinkOptions): [T, T] {
    // `this`: a subclass's pair() builds the subclass.
    const left = new this(a);
    const right = new this(b);
    left.peer = right;
    right.peer = left;
    left.remoteBusId = right.bus.id;
    right.remoteBusId = left.bus.id;
    left.start();
    right.start();
    return [left, right];
  }

  protected override async transmit(batch: Envelope[]): Promise<void> {
    const messages = batch.filter((envelope) => !envelope.id.startsWith("berrymq-link:")).length;
    if (messages > 0) this.batches.push(messages);
    if (!this.reachable || this.peer === undefined) throw new Error("far side unreachable");
    const frames = JSON.parse(JSON.stringify(batch)) as unknown[];
    for (const frame of frames) this.peer.accept(frame);
  }

  /** Answers (frames with `inReplyTo`) that arrived through this link. */
  answersReceived = 0;

  accept(frame: unknown): number | undefined {
    if ((frame as { inReplyTo?: unknown }).inReplyTo !== undefined) this.answersReceived++;
    return this.receive(frame);
  }
}
