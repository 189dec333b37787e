// Headless Chromium (Debian's package) driven by playwright-core, for specs where a real web page attacks a
// server: pages come from a local "attacker" HTTP server, and `--host-resolver-rules` maps evil.test to
// loopback, so a page at http://evil.test:<port>/ is a DNS-rebinding page.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Debian's `chromium` package puts the browser (override with BERRYMQ_CHROMIUM). */
export const CHROMIUM = process.env.BERRYMQ_CHROMIUM ?? "/usr/bin/chromium";

/** The name a page uses to reach loopback through Chromium's resolver rule (a rebinding attacker's name). */
export const EVIL_HOST = "evil.test";

/** What the browser sent to and got from a server, read from the network layer (the page may see none of it). */
export interface Exchange {
  url: string;
  method: string;
  /** The request headers as sent (lower-case names), Origin and Host included. */
  headers: Record<string, string>;
  /** The HTTP status; undefined while no answer came (or the socket was cut). */
  status?: number;
  /** The answer's headers (lower-case names). */
  responseHeaders?: Record<string, string>;
  /** Chromium's reason when the request failed (a CORS block, a cut connection, a page that went away). */
  failure?: string;
}

/** A browser with a fresh profile and the pages it opened. */
export interface TestBrowser {
  /** Opens a page at `url` and records every exchange of it with `http://…:<watchPort>`. */
  open(url: string, watchPort: number): Promise<WatchedPage>;
  close(): Promise<void>;
}

/** A page and what it exchanged with the watched port. */
export interface WatchedPage {
  readonly page: Page;
  readonly exchanges: Exchange[];
  /** Console messages (Chromium reports WebSocket handshake failures there). */
  readonly console: string[];
  close(): Promise<void>;
}

/** Throws, saying how to install it, when Chromium is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install it (Debian: apt-get install -y chromium; .ci/run does it) or point BERRYMQ_CHROMIUM at a Chromium binary`,
    );
  }
}

/**
 * Launches Chromium. Fails (never skips) when it is missing, saying how to install it: the web defences are
 * only proven when a real browser runs.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  requireChromium();
  const profile = mkdtempSync(join(tmpdir(), "berrymq-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--host-resolver-rules=MAP ${EVIL_HOST} 127.0.0.1`,
      ],
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    open: (url, watchPort) => openPage(context, url, watchPort),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function openPage(context: BrowserContext, url: string, watchPort: number): Promise<WatchedPage> {
  const page = await context.newPage();
  const exchanges = new Map<string, Exchange>();
  const watched = (address: string): boolean => {
    try {
      return new URL(address).port === String(watchPort);
    } catch {
      return false;
    }
  };
  // The "ExtraInfo" events carry the headers as they went on the wire (Origin, Host) and the status even
  // of an answer CORS hides from the page; playwright's own events show neither.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  cdp.on("Network.requestWillBeSent", (event) => {
    if (!watched(event.request.url)) return;
    const known = exchanges.get(event.requestId);
    exchanges.set(event.requestId, { headers: {}, ...known, url: event.request.url, method: event.request.method });
  });
  cdp.on("Network.requestWillBeSentExtraInfo", (event) => {
    const known = exchanges.get(event.requestId) ?? { url: "", method: "" };
    exchanges.set(event.requestId, { ...known, headers: lower(event.headers) });
  });
  cdp.on("Network.responseReceivedExtraInfo", (event) => {
    const known = exchanges.get(event.requestId) ?? { url: "", method: "", headers: {} };
    exchanges.set(event.requestId, { ...known, status: event.statusCode, responseHeaders: lower(event.headers) });
  });
  cdp.on("Network.loadingFailed", (event) => {
    const known = exchanges.get(event.requestId);
    if (known !== undefined) exchanges.set(event.requestId, { ...known, failure: event.errorText });
  });
  const console: string[] = [];
  page.on("console", (message) => void console.push(message.text()));
  await page.goto(url);
  return {
    page,
    // Only exchanges with the watched port (extra-info events arrive for every request).
    get exchanges() {
      return [...exchanges.values()].filter((exchange) => watched(exchange.url));
    },
    console,
    close: async () => {
      await cdp.detach().catch(() => undefined);
      await page.close();
    },
  };
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** The attacker's web server: answers every GET with an empty HTML page (scripts run through `page.evaluate`). */
export interface AttackerSite {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the attacker's web server on 127.0.0.1 (a free port unless told). */
export async function startAttackerSite(port = 0): Promise<AttackerSite> {
  const server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end("<!doctype html><title>attacker</title><body></body>");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
