import { BadResponseError } from "./errors.js";
import { HttpLink, type HttpLinkOptions, isLegacyServer } from "./http-link.js";

/**
 * berryMQ's style 02: pushes every message of the local bus that matches its export filters to a bridge
 * server (e.g. a logger), batched per tick, buffered and retried while the server is down; nothing flows
 * back. `close()` flushes. Against a berryMQ 0.3 server it uses 0.3's `connect_oneway` and `send_message`.
 * @example
 * const bus = new Bus();
 * const client = new SendOnlyClient("http://127.0.0.1:7200/", { bus, exportFilters: ["app:log"] });
 * bus.twitter("app:log", "disk full", kw({ level: 3 }));
 * await client.close();
 */
export class SendOnlyClient extends HttpLink {
  constructor(url: string | URL, options: HttpLinkOptions = {}) {
    super(url, options);
    this.start();
  }

  protected override async handshake(): Promise<string> {
    let result: unknown;
    try {
      result = await this.endpoint.call("berrymq.connect", { style: "oneway", ttl: this.ttl });
    } catch (error) {
      if (!isLegacyServer(error)) throw error;
      const token = await this.endpoint.legacyCall("connect_oneway", [this.ttl]);
      if (typeof token !== "string") throw new BadResponseError(this.endpoint.where, token, "a token");
      this.legacy = true;
      return token;
    }
    const token = (result as { token?: unknown } | null)?.token;
    if (typeof token !== "string") throw new BadResponseError(this.endpoint.where, result, '{"token": "..."}');
    this.legacy = false;
    return token;
  }
}
