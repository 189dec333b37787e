/** What {@link receiveEach} needs of a zeromq.js socket. */
export interface FrameReceiver {
  readonly closed: boolean;
  receive(): Promise<Buffer[]>;
}

/**
 * Hands each message received on `socket` to `handle` until the socket is closed, as `for await` over
 * the socket does, without zeromq.js's async iterator: its `next` is an async function that wraps each
 * receive in a second promise and a result object (~1 KB and two more microtask turns per message,
 * counted on every hop of a one-message round trip).
 * @throws what `receive` throws, except the EAGAIN of a socket closed while waiting (then it resolves).
 */
export async function receiveEach(socket: FrameReceiver, handle: (frames: Buffer[]) => void): Promise<void> {
  while (!socket.closed) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch (error) {
      if (socket.closed && (error as { code?: unknown }).code === "EAGAIN") return;
      throw error;
    }
    handle(frames);
  }
}
