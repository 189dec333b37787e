// The two ways a bus sends to a far JSON-RPC server that the r26 413 specs try each of: a SendOnlyClient
// (POSTs), or a PeerLink that opens a link stream from a bridge server of its own.
import { type HttpLinkOptions, PeerLink, type PeerLinkOptions, SendOnlyClient } from "../../../bridges/jsonrpc/index.js";
import type { Link } from "../../../bridges/link.js";
import { waitFor } from "../../helpers/wait-for.js";

/** The kinds of link, each a test name's prefix. */
export const NEAR_LINK_KINDS = ["SendOnlyClient (POSTs)", "PeerLink (a link stream open)"] as const;

/** A SendOnlyClient or a PeerLink. */
export type NearLinkKind = (typeof NEAR_LINK_KINDS)[number];

/**
 * Connects a link of `kind` to `url` with `options` (a PeerLink with `server` as its own bridge server) and
 * resolves once it can send: the client connected, or the link stream open. Its errors are ignored.
 */
export async function connectNearLink(
  kind: NearLinkKind,
  url: string,
  options: HttpLinkOptions,
  server: PeerLinkOptions["server"],
): Promise<Link> {
  let link: Link;
  if (kind === "SendOnlyClient (POSTs)") {
    const client = new SendOnlyClient(url, options);
    await client.connected();
    link = client;
  } else {
    const peer = await PeerLink.connect(url, { ...options, server });
    await waitFor(() => peer.streaming, "the link stream is open");
    link = peer;
  }
  link.on("error", () => undefined);
  return link;
}
