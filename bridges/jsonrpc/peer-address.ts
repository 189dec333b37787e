import { isIP } from "node:net";
import { InvalidArgumentError } from "../../lib/errors.js";
import { parseHttpUrl } from "./rpc-endpoint.js";

/** Whether `host` (a name or an IP literal, IPv6 with or without brackets) is this machine. */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return bare === "::1" || bare === "0:0:0:0:0:0:0:1";
}

/**
 * Checks an address a caller of `interconnect` asks the server to POST every message to (SSRF guard):
 * `http:` on `/` or `/JSON`, to loopback, or to a host named in `peerHosts` on a server that requires a
 * secret (a peer beyond this machine must not be linked by an anonymous caller).
 * @throws InvalidArgumentError naming the URL and what is allowed.
 */
export function checkPeerUrl(url: string, peerHosts: readonly string[], secured: boolean): URL {
  const parsed = parseHttpUrl(url);
  if (parsed.pathname !== "/" && parsed.pathname !== "/JSON")
    throw new InvalidArgumentError("url", url, "a peer server URL with path / or /JSON");
  if (parsed.username !== "" || parsed.password !== "" || parsed.search !== "")
    throw new InvalidArgumentError("url", url, "a peer server URL without credentials or query");
  const host = parsed.hostname;
  if (isLoopback(host)) return parsed;
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  if (!peerHosts.includes(bare) && !peerHosts.includes(host)) {
    throw new InvalidArgumentError("url", url, "a loopback peer, or a host named in the server's peerHosts option");
  }
  if (!secured) throw new InvalidArgumentError("url", url, "a loopback peer: peers beyond this machine need the server to require a secret");
  return parsed;
}
