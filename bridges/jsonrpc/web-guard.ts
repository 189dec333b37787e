import type { IncomingHttpHeaders } from "node:http";
import { isIP } from "node:net";

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
  const host = hostName(headers.host ?? "");
  if (host === undefined || !(host === "localhost" || isIP(host) !== 0 || allowHosts.has(host))) {
    return { status: 403, message: `forbidden: Host ${quote(headers.host ?? "")} is not this server (see the allowHosts option)` };
  }
  return undefined;
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
