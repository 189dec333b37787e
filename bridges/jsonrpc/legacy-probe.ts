import { BadResponseError, HttpStatusError, RemoteError } from "./errors.js";
import type { RpcEndpoint } from "./rpc-endpoint.js";

/** How often a link to a berryMQ 0.3 node probes it while quiet, in ms, unless `pingInterval` says otherwise. */
export const LEGACY_PROBE_INTERVAL = 2_000;

/**
 * Asks a berryMQ 0.3 node whether it answers, changing nothing there. 0.3 has no ping: the probe is
 * `get_nowait(token)` with the link's own token, which names an interconnection, not a queue connection,
 * so 0.3 answers "invalid token" before any ttl check (nothing taken, the connection's idle time untouched);
 * a berrymq server answers an error. Any answer resolves, an error one too (something served there); no
 * answer within `timeout` ms, a refused or reset connection, rejects with what the call met.
 */
export async function probeLegacy(endpoint: RpcEndpoint, token: string, timeout: number): Promise<void> {
  try {
    await endpoint.legacyCall("get_nowait", [token], timeout);
  } catch (error) {
    if (error instanceof RemoteError || error instanceof HttpStatusError || error instanceof BadResponseError) return;
    throw error;
  }
}
