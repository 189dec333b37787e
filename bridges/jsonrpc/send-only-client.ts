import { HttpLink, type HttpLinkOptions } from "./http-link.js";

/**
 * berryMQ's style 02: pushes every message of the local bus that matches its export filters to a bridge
 * server (e.g. a logger), batched per tick, buffered and retried while the server is down; nothing flows
 * back. `close()` flushes.
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
    const result = (await this.endpoint.call("berrymq.connect", { style: "oneway", ttl: this.ttl })) as { token: string };
    return result.token;
  }
}
