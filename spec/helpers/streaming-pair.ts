import type { TestContext } from "node:test";
import { PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import type { Message } from "../../lib/message.js";
import { waitFor } from "./wait-for.js";

/** Bus a linked to bus b by a PeerLink whose version 2 stream is open, and one message (0) through it; closed after the test. */
export async function streamingPair(t: TestContext, id: string) {
  const a = new Bus({ id: `${id}-a` });
  const b = new Bus({ id: `${id}-b` });
  const [serverA, serverB] = await Promise.all([serve({ bus: a }), serve({ bus: b })]);
  const link = await PeerLink.connect(serverB.url, { bus: a, server: serverA });
  const errors: Error[] = [];
  link.on("error", (error) => void errors.push(error));
  t.after(async () => {
    await link.close();
    await Promise.all([serverA.close(), serverB.close()]);
  });
  await waitFor(() => link.streaming, "the stream is open");
  const atB: unknown[] = [];
  b.follow("seq:ab", (m: Message) => void atB.push(m.args[0]));
  a.twitter("seq:ab", 0);
  await waitFor(() => atB.length === 1, "a first message");
  return { a, link, errors, atB };
}
