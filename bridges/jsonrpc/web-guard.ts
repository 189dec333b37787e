import type { IncomingHttpHeaders } from "node:http";
import { isIP } from "node:net";
import { InvalidArgumentError } from "../../lib/errors.js";

/** Why a request was refused before its body was read: an HTTP status and a message. */
export interface Refusal {
  status: number;
  message: string;
}

// What JSON-RPC clients send: JSON, and text/xml from berryMQ 0.3's Python client (its xmlrpc transport).
// A browser can send none of these cross-site without a CORS preflight, which this server never grants.
const ACCEPTED_TYPES = new Set(["application/json", "application/json-rpc", "application/jsonrequest", "text/xml"]);

/**
 * Refuses what a web page could make a browser send (any `Origin` not allow-listed; no content type, or
 * a CORS "simple" one such as `text/plain` or a form encoding) and a `Host` that is not this server: a
 * DNS name other than `localhost` or an allowed one means DNS rebinding. IP literals are always accepted.
 */
export function refuseWebRequest(
  headers: IncomingHttpHeaders,
  allowOrigins: ReadonlySet<string>,
  allowHosts: ReadonlySet<string>,
): Refusal | undefined {
  const origin = headers.origin;
  if (origin !== undefined && !allowOrigins.has(origin)) {
    return { status: 403, message: `forbidden: Origin ${quote(origin)} is not allowed (see the allowOrigins option)` };
  }
  const type = (headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!ACCEPTED_TYPES.has(type)) {
    return {
      status: 415,
      message: `unsupported content type ${quote(type)}: send Content-Type: application/json (text/plain and forms are refused: a web page can send them)`,
    };
  }
  if (!hostAccepted(headers.host, allowHosts)) {
    return {
      status: 403,
      message: `forbidden: Host ${quote(headers.host ?? "")} is not this server (see the allowHosts option)`,
    };
  }
  return undefined;
}

/**
 * The CORS headers an answer to an allow-listed `Origin` carries (without them Chromium hides every answer
 * from the page, refusals included); none for any other request.
 */
export function corsHeaders(headers: IncomingHttpHeaders, allowOrigins: ReadonlySet<string>): Record<string, string> | undefined {
  const origin = headers.origin;
  if (origin === undefined || !allowOrigins.has(origin)) return undefined;
  return { "access-control-allow-origin": origin, vary: "Origin" };
}

/**
 * The headers granting a CORS preflight (`OPTIONS`) from an allow-listed `Origin` to this server's `Host`
 * for a POST with `Content-Type` and `Authorization`: a browser sends `application/json` cross-site only
 * after one. Undefined for any other preflight, which is then refused like any other verb (HTTP 405).
 */
export function grantPreflight(
  headers: IncomingHttpHeaders,
  allowOrigins: ReadonlySet<string>,
  allowHosts: ReadonlySet<string>,
): Record<string, string> | undefined {
  const cors = corsHeaders(headers, allowOrigins);
  if (cors === undefined || headers["access-control-request-method"] !== "POST" || !hostAccepted(headers.host, allowHosts))
    return undefined;
  const grant: Record<string, string> = {
    ...cors,
    "access-control-allow-methods": "POST",
    "access-control-allow-headers": "content-type, authorization",
    "access-control-max-age": "600",
  };
  // Chromium's Private Network Access asks before a public page may reach loopback: an allowed origin may.
  if (headers["access-control-request-private-network"] === "true") grant["access-control-allow-private-network"] = "true";
  return grant;
}

// What makes the server link out to a peer: a page (even an allowed one) is a client, and with these it
// would have the server connect to any loopback port it names, retrying after the page is gone.
const PEER_METHODS = new Set(["berrymq.interconnect", "interconnect", "connect_interactively"]);

/**
 * Why a web page (a request with an `Origin`) may not call `method`, or undefined when it may: every
 * `interconnect` form (JSON-RPC 2.0 and berryMQ 0.3's two) is for berrymq servers, never pages.
 */
export function refusePageMethod(method: string): string | undefined {
  if (!PEER_METHODS.has(method)) return undefined;
  return `forbidden: ${method} links servers: a web page (a request with an Origin) may not call it`;
}

// localhost, an IP literal or an allowed name: anything else means DNS rebinding.
function hostAccepted(header: string | undefined, allowHosts: ReadonlySet<string>): boolean {
  const host = hostName(header ?? "");
  return host !== undefined && (host === "localhost" || isIP(host) !== 0 || allowHosts.has(host));
}

// "name:port", "[v6]:port" or "name" → the name, lower-cased; undefined for an empty header.
function hostName(header: string): string | undefined {
  if (header === "") return undefined;
  if (header.startsWith("[")) {
    const end = header.indexOf("]");
    return end < 0 ? undefined : header.slice(1, end);
  }
  const colon = header.lastIndexOf(":");
  return (colon < 0 ? header : header.slice(0, colon)).toLowerCase();
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

/**
 * An `allowOrigins` entry, as browsers send an `Origin`: `scheme://host[:port]`, lower case, no default
 * port, no path. Anything else would never match (a trailing slash) or match too much: `"null"` is the
 * origin of every sandboxed iframe and `data:` page, from any site.
 * @throws InvalidArgumentError naming the entry.
 */
export function checkAllowedOrigin(origin: unknown): string {
  if (typeof origin === "string" && origin !== "null") {
    try {
      if (new URL(origin).origin === origin) return origin;
    } catch {
      // not a URL: refused below
    }
  }
  throw new InvalidArgumentError("allowOrigins", origin, 'an origin as a browser sends it, "scheme://host[:port]" (not "null", "*" or a URL with a path)');
}
