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
  readonly #onError: (error: unknown) => void;
  readonly #failed = (error: unknown): void => {
    this.#unsettled--;
    this.#onError(error);
  };

  /** `onError`: what {@link post} does with a send that failed. */
  constructor(socket: FrameSender, onError: (error: unknown) => void = () => undefined) {
    this.#socket = socket;
    this.#onError = onError;
  }

  /** Queues `frames` behind every earlier send. */
  send(frames: (string | Buffer)[]): Promise<void> {
    const next = this.#unsettled === 0 ? this.#sendNow(frames) : this.#tail.then(() => this.#socket.send(frames));
    this.#unsettled++;
    this.#tail = next.then(this.#settled, this.#settled);
    return next;
  }

  /**
   * Queues `frames` like {@link send}, for a caller that needs no outcome of its own: a failure goes to the
   * queue's `onError`. One promise per send instead of three (the send's, its settling for the queue, and
   * the caller's `catch`), on every message the broker publishes.
   */
  post(frames: (string | Buffer)[]): void {
    if (this.#unsettled > 0) {
      this.#unsettled++;
      this.#tail = this.#tail.then(() => this.#socket.send(frames)).then(this.#settled, this.#failed);
      return;
    }
    this.#unsettled++;
    this.#tail = this.#sendNow(frames).then(this.#settled, this.#failed);
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
