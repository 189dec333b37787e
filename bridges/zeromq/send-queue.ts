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
  // The tag of each send not yet settled, oldest first: sends settle in the order they were queued.
  readonly #tags: number[] = [];
  readonly #settled = (): void => {
    this.#unsettled--;
    this.#tags.shift();
  };
  readonly #onError: (error: unknown, tag: number) => void;
  readonly #failed = (error: unknown): void => {
    this.#unsettled--;
    this.#onError(error, this.#tags.shift() ?? 0);
  };

  /** `onError`: what {@link post} does with a send that failed, given the tag it was posted with. */
  constructor(socket: FrameSender, onError: (error: unknown, tag: number) => void = () => undefined) {
    this.#socket = socket;
    this.#onError = onError;
  }

  /** Queues `frames` behind every earlier send. */
  send(frames: (string | Buffer)[]): Promise<void> {
    const next = this.#unsettled === 0 ? this.#sendNow(frames) : this.#tail.then(() => this.#socket.send(frames));
    this.#unsettled++;
    this.#tags.push(0);
    this.#tail = next.then(this.#settled, this.#settled);
    return next;
  }

  /**
   * Queues `frames` like {@link send}, for a caller that needs no outcome of its own: a failure goes to the
   * queue's `onError`, with `tag` (a number the caller knows the send by). One promise per send instead of
   * three (the send's, its settling for the queue, and the caller's `catch`), on every message the broker
   * publishes and every batch a BrokerLink sends.
   */
  post(frames: (string | Buffer)[], tag = 0): void {
    this.#tags.push(tag);
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
