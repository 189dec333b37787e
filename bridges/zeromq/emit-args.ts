import { eventKey } from "../../lib/emit-each.js";

// eventemitter3's record of a listener (an entry of its `_events`).
interface ListenerRecord {
  readonly fn: (...args: unknown[]) => void;
  readonly context: unknown;
  readonly once: boolean;
}

// What emitArgs needs of an eventemitter3 emitter (any event map).
interface Emitter {
  removeListener(event: never, fn: never, context: undefined, once: true): unknown;
}

/**
 * Emits `event` with `args` as eventemitter3's emit does (once-listeners removed before their call), but
 * each listener in its own try: a throw goes to `thrown` and the listeners after it still hear the event.
 * lib/emit-each.ts for events of several arguments (the RPC server's and client's): thrown out of emit, a
 * listener's error ended the receive loop that emitted (the server or client deaf for good) or, from a
 * heartbeat timer or an authentication, crashed the process.
 */
export function emitArgs(emitter: Emitter, event: string, args: readonly unknown[], thrown: (error: unknown) => void): void {
  const listeners = (emitter as unknown as { _events: Record<string, ListenerRecord | ListenerRecord[] | undefined> })._events[
    eventKey(event)
  ];
  if (listeners === undefined) return;
  // A copy: eventemitter3 pushes a listener added meanwhile onto this array (not called now, as by emit).
  for (const listener of Array.isArray(listeners) ? [...listeners] : [listeners]) {
    if (listener.once) emitter.removeListener(event as never, listener.fn as never, undefined, true);
    try {
      listener.fn.apply(listener.context, args as unknown[]);
    } catch (error) {
      thrown(error);
    }
  }
}
