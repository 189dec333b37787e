import { EventEmitter } from "eventemitter3";

// eventemitter3's record of a listener (an entry of its `_events`).
interface ListenerRecord {
  readonly fn: (...args: unknown[]) => void;
  readonly context: unknown;
  readonly once: boolean;
}

// What emitEach needs of an eventemitter3 emitter (any event map).
interface Emitter {
  removeListener(event: never, fn: never, context: undefined, once: true): unknown;
}

/** The key eventemitter3 keeps `event`'s listeners under (computed once per event by callers on hot paths). */
export function eventKey(event: string): string {
  return typeof EventEmitter.prefixed === "string" ? `${EventEmitter.prefixed}${event}` : event;
}

/**
 * Emits `event` (kept under `key`, see {@link eventKey}) with `value` as eventemitter3's emit does
 * (once-listeners removed before their call, a listener added meanwhile not called), but each listener in
 * its own try: a throw goes to `thrown(error, about, event, value)` and the listeners after it still hear the event.
 * Thrown out of emit, a listener's error reached whatever emitted (a receive loop, a timer, a sender) and the
 * listeners after it missed the event. `about` is passed through, so a caller on a hot path needs no closure.
 */
export function emitEach<A>(
  emitter: Emitter,
  key: string,
  event: string,
  value: unknown,
  about: A,
  thrown: (error: unknown, about: A, event: string, value: unknown) => void,
): void {
  const listeners = recordsOf(emitter, key);
  if (listeners === undefined) return;
  if (!Array.isArray(listeners)) {
    call(emitter, event, listeners, value, about, thrown);
    return;
  }
  // eventemitter3 replaces the array when a listener is removed: this one stays as it was.
  const length = listeners.length;
  for (let i = 0; i < length; i++) call(emitter, event, listeners[i] as ListenerRecord, value, about, thrown);
}

function call<A>(
  emitter: Emitter,
  event: string,
  listener: ListenerRecord,
  value: unknown,
  about: A,
  thrown: (error: unknown, about: A, event: string, value: unknown) => void,
): void {
  if (listener.once) emitter.removeListener(event as never, listener.fn as never, undefined, true);
  try {
    listener.fn.call(listener.context, value);
  } catch (error) {
    thrown(error, about, event, value);
  }
}

/**
 * {@link emitEach} for an event of several arguments (the RPC server's and client's events, off the hot
 * paths): each listener in its own try, a throw going to `thrown`. Thrown out of emit, a listener's error
 * ended the receive loop that emitted (an RPC server or client deaf for good) or, from a heartbeat timer
 * or an authentication, crashed the process.
 */
export function emitArgs(emitter: Emitter, event: string, args: readonly unknown[], thrown: (error: unknown) => void): void {
  const listeners = recordsOf(emitter, eventKey(event));
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

function recordsOf(emitter: Emitter, key: string): ListenerRecord | ListenerRecord[] | undefined {
  return (emitter as unknown as { _events: Record<string, ListenerRecord | ListenerRecord[] | undefined> })._events[key];
}
