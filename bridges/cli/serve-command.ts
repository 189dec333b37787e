import { PeerLink, serve } from "../jsonrpc/index.js";
import { isLoopback } from "../jsonrpc/peer-address.js";
import { Bus } from "../../lib/bus.js";
import {
  type Command,
  failed,
  integerOption,
  parseWithSecret,
  secretUsage,
  stdoutClosed,
  stdoutFailure,
  untilSignal,
  usageError,
} from "./command.js";
import { InvalidArgumentError, printable } from "../../lib/errors.js";
import { REPORTS_PER_SECOND, ReportRate } from "../zeromq/report-rate.js";

const USAGE = `usage: berrymq serve [--host HOST] [--port PORT] [--queue FILTER]... [--peer URL]...
                     [--secret-file FILE] [--allow-origin ORIGIN]... [--allow-host NAME]...
                     [--peer-host HOST]... [--verbose]

Runs a JSON-RPC bridge server (berryMQ 0.3 and JSON-RPC 2.0 on / and /JSON) until Ctrl-C.

  --host          address to listen on (default 127.0.0.1)
  --port          port (default 7200; 0 picks a free one)
  --queue         own a queue with this filter from the start (clients of \`berrymq get\` share it)
  --peer          link this server's bus with the bridge server at URL (style 01)
${secretUsage(18)}
  --allow-origin  a web origin allowed to call (default none: requests with an Origin are refused)
  --allow-host    a DNS name accepted in the Host header besides localhost and IP literals
  --peer-host     a host interconnect may link back to besides loopback (needs a secret)
  --verbose       print every message the bus sees as a JSON line
  With a secret (default: $BERRYMQ_SECRET), every request needs Authorization: Bearer SECRET.`;

/**
 * `berrymq serve`: a bridge server until SIGINT or SIGTERM.
 * @example berrymq serve --port 7200 --queue "task:*" --verbose
 */
export const serveCommand: Command = {
  name: "serve",
  summary: "run a JSON-RPC bridge server (optionally owning queues, linked to peers)",
  usage: USAGE,
  async run(argv) {
    const parsed = parseWithSecret(
      this,
      argv,
      {
        host: { type: "string" },
        port: { type: "string" },
        queue: { type: "string", multiple: true },
        peer: { type: "string", multiple: true },
        "allow-origin": { type: "string", multiple: true },
        "allow-host": { type: "string", multiple: true },
        "peer-host": { type: "string", multiple: true },
        verbose: { type: "boolean" },
      },
      { min: 0, max: 0 },
    );
    if (!parsed.ok) return parsed.code;
    const { values } = parsed;
    let port: number;
    try {
      port = integerOption("--port", values.port ?? "7200", 0, 65_535);
      // Node listens on every interface for "" (`--host "$HOST"` with HOST unset), where the default is
      // loopback only; the banner then read http://:7200/.
      if (values.host?.trim() === "") throw new InvalidArgumentError("--host", values.host, "an address or host name");
    } catch (error) {
      return failed(this.name, error);
    }
    // Peers beyond this machine are linked only by a server that requires a secret: without one the option
    // was taken and did nothing (an interconnect from that host was refused when it came).
    if (values["peer-host"] !== undefined && parsed.secret.secret === undefined) {
      return usageError(this, "--peer-host needs a secret (--secret-file FILE or $BERRYMQ_SECRET)").code;
    }
    const bus = new Bus();
    bus.on("error", printBusErrors());
    if (values.verbose === true) bus.on("message", (message) => console.log(printable(JSON.stringify(message))));
    // A server outlives its output (`serve --verbose | head`, or `> log` on a full disk): the EPIPE or ENOSPC
    // killed it at the next line.
    void stdoutClosed().then(() =>
      console.error(printable(`berrymq serve: ${stdoutFailure() ?? "stdout closed"}: serving on, printing nothing more there`)),
    );
    const secret = parsed.secret;
    const links: PeerLink[] = [];
    let server: Awaited<ReturnType<typeof serve>>;
    try {
      server = await serve({
        bus,
        port,
        queues: values.queue ?? [],
        allowOrigins: values["allow-origin"] ?? [],
        allowHosts: values["allow-host"] ?? [],
        peerHosts: values["peer-host"] ?? [],
        ...(values.host === undefined ? {} : { host: values.host }),
        ...secret,
      });
    } catch (error) {
      return failed(this.name, error);
    }
    try {
      for (const url of values.peer ?? []) links.push(await PeerLink.connect(url, { bus, server, ...secret }));
    } catch (error) {
      await server.close();
      return failed(this.name, error);
    }
    // The address it is bound to (server.url is where this machine reaches it: 127.0.0.1 for 0.0.0.0), and
    // whether other machines may reach it too.
    const host = values.host ?? "127.0.0.1";
    const bound = `http://${host.includes(":") ? `[${host}]` : host}:${server.port}/`;
    const reach = isLoopback(host) ? "" : " (not loopback only: other machines may connect)";
    const queues = server.queues.length > 0 ? ` (queues: ${server.queues.join(", ")})` : "";
    // Listening before the banner: a supervisor's SIGTERM right after it found no listener, and Node's
    // default action killed the server without closing its sessions.
    const signalled = untilSignal();
    console.log(printable(`berrymq serve: listening on ${bound}${reach}${queues}`));
    await signalled;
    // Together: one after the other, each paused peer added its close deadline to the exit (r31).
    await Promise.all(links.map((link) => link.close()));
    await server.close();
    return 0;
  },
};

// The bus's errors on stderr, at most REPORTS_PER_SECOND a second, the rest counted and said once a second:
// a client flooding a full owned queue made one line per dropped message, and on a slow stderr pipe each
// synchronous write held the server.
function printBusErrors(): (error: Error) => void {
  const rate = new ReportRate();
  let unshown = 0;
  let summary: NodeJS.Timeout | undefined;
  const sayUnshown = (): void => {
    summary = undefined;
    if (unshown === 0) return;
    console.error(`[bus] ${unshown} more errors not shown (at most ${REPORTS_PER_SECOND} a second)`);
    unshown = 0;
  };
  return (error) => {
    if (rate.allow()) {
      console.error(printable(`[bus] ${error.message}`));
      return;
    }
    unshown++;
    summary ??= setTimeout(sayUnshown, 1_000).unref();
  };
}
