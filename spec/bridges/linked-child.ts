// A child bus process across a link from a bus here (the request-process and answers-lost specs): waiting until it
// answers through the link, and closing the lot after the tests.
import type { BridgeServer, PeerLink } from "../../bridges/jsonrpc/index.js";
import type { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";

/**
 * Asks `whoami` (r23:whoami by default) until the child with bus id `busId` answers through the link (a link
 * needs a moment after a process starts; 20 s at most); its pid.
 */
export async function untilLinked(bus: Bus, busId: string, whoami = "r23:whoami"): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const answers = await bus.request<{ bus: string; pid: number }>(whoami, within({ count: "all", timeout: 300 }));
    const mine = answers.find((a) => a.ok && a.value.bus === busId);
    if (mine?.ok) return mine.value.pid;
    if (Date.now() > deadline) throw new Error(`${busId} never answered`);
  }
}

/** A closing step: kills the child running then (`child()`), then closes the link, the bridge server and the bus. */
export function closeLinked(
  child: () => { kill(): Promise<void> },
  link: PeerLink,
  server: BridgeServer,
  bus: Bus,
): () => Promise<void> {
  return async () => {
    await child().kill();
    await link.close();
    await server.close();
    bus.close();
  };
}
