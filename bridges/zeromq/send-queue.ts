/** What a zeromq.js socket offers for sending. */
export interface FrameSender {
  send(frames: (string | Buffer)[]): Promise<void>;
}

/**
 * Serialises sends on one zeromq.js socket, which refuses a send while another is in progress
 * ("Socket is busy writing"). Each `send` resolves or rejects with its own outcome.
 */
export class SendQueue {
  readonly #socket: FrameSender;
  #tail: Promise<void> = Promise.resolve();

  constructor(socket: FrameSender) {
    this.#socket = socket;
  }

  /** Queues `frames` behind every earlier send. */
  send(frames: (string | Buffer)[]): Promise<void> {
    const next = this.#tail.then(() => this.#socket.send(frames));
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
