// The RPC server's `authenticate` hook, bounded: ZAP and the login both wait on it, so a hook that never
// settles, a flood of handshakes or a user id unfit for the wire must not hold either for ever.
import type { Authenticate, AuthMechanism, Credentials } from "./zap-handler.js";

/** Bounds of a guarded `authenticate` hook. */
export interface AuthenticateBounds {
  /** A call not settled after this many ms is a refusal. */
  timeout: number;
  /** Calls in progress at once; one more is refused at once. */
  maxPending: number;
}

/** Longest user id accepted from `authenticate`, in UTF-8 bytes (it travels in a frame, as identities do). */
export const MAX_USER_ID_BYTES = 255;

// Control characters would reach logs and event listeners verbatim.
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * `authenticate` wrapped so that it settles within `timeout`, runs at most `maxPending` times at once, and
 * gives a user id of 1-255 bytes without control characters; anything else rejects with an Error saying
 * why (a refusal, for ZAP and the login alike).
 */
export function guardAuthenticate(authenticate: Authenticate, bounds: AuthenticateBounds): Authenticate {
  let pending = 0;
  return async (mechanism: AuthMechanism, credentials: Credentials): Promise<string | undefined> => {
    if (pending >= bounds.maxPending)
      throw new Error(`${bounds.maxPending} authentications already in progress (maxPendingAuthentications)`);
    pending++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`authenticate did not settle within ${bounds.timeout} ms`)), bounds.timeout);
        // It only guards the hook: a hook that never settles held the process after the server's close()
        // for the whole timeout (r31); while the server runs, its sockets keep the loop alive.
        timer.unref();
      });
      const userId = await Promise.race([Promise.resolve().then(() => authenticate(mechanism, credentials)), late]);
      if (userId === undefined) return undefined;
      if (
        typeof userId !== "string" ||
        userId.length === 0 ||
        Buffer.byteLength(userId) > MAX_USER_ID_BYTES ||
        hasControlCharacter(userId)
      ) {
        throw new Error(
          `authenticate returned an unfit user id (a string of 1-${MAX_USER_ID_BYTES} bytes without control characters is needed)`,
        );
      }
      return userId;
    } finally {
      clearTimeout(timer);
      pending--;
    }
  };
}
