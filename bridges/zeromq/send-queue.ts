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
  // Sends handed over and not yet settled: with none, a send goes to the socket at once rather than
  // a microtask later behind the settled tail (one hop less on a one-message round trip).
  #unsettled = 0;
  readonly #settled = (): void => {
    this.#unsettled--;
  };

  constructor(socket: FrameSender) {
    this.#socket = socket;
  }

  /** Queues `frames` behind every earlier send. */
  send(frames: (string | Buffer)[]): Promise<void> {
    const next = this.#unsettled === 0 ? this.#sendNow(frames) : this.#tail.then(() => this.#socket.send(frames));
    this.#unsettled++;
    this.#tail = next.then(this.#settled, this.#settled);
    return next;
  }

  // A send that throws instead of rejecting becomes a rejection, as it would inside `then`.
  #sendNow(frames: (string | Buffer)[]): Promise<void> {
    try {
      return this.#socket.send(frames);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
