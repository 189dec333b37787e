import { RemoteQueueClient } from "../jsonrpc/index.js";
import { withoutCredentials } from "../jsonrpc/rpc-endpoint.js";
import { type Command, failed, parseWithSecret, secretUsage, stdoutClosed, stdoutExitCode, untilSignal } from "./command.js";
import { errorText, printable } from "../../lib/errors.js";

const USAGE = `usage: berrymq tail URL [FILTER] [--secret-file FILE]

Prints every message matching FILTER (default "*:*") that reaches the bridge server at URL, one JSON
line each, until Ctrl-C (or until its output's reader is gone: \`| head\`).

${secretUsage(17)}
  The server's shared secret defaults to $BERRYMQ_SECRET.`;

/**
 * `berrymq tail`: follows a bridge server's messages as JSON lines.
 * @example berrymq tail http://127.0.0.1:7200/ "app:*"
 */
export const tailCommand: Command = {
  name: "tail",
  summary: "print a bridge server's messages as JSON lines until Ctrl-C",
  usage: USAGE,
  async run(argv) {
    const parsed = parseWithSecret(this, argv, {}, { min: 1, max: 2 });
    if (!parsed.ok) return parsed.code;
    const [url, filter = "*:*"] = parsed.positionals as [string, string?];
    let queue: RemoteQueueClient;
    try {
      // A copy, even of a filter the server owns: tail sees every message and takes none from other clients.
      queue = await RemoteQueueClient.connect(url, { filter, copy: true, ttl: 60, ...parsed.secret });
    } catch (error) {
      return failed(this.name, error);
    }
    // The loop ends on a signal or once stdout's reader is gone (`| head`), either closing the queue, or by
    // itself, when the server closed the queue: then no signal comes, and waiting for one left an unsettled
    // await (Node's exit code 13, no message). Listening before the banner, as serve does.
    let signalled = false;
    const stopped = Promise.race([untilSignal(), stdoutClosed()]).then(() => {
      signalled = true;
      return queue.close();
    });
    console.error(printable(`berrymq tail: following "${queue.filter}" on ${withoutCredentials(url)}`));
    try {
      for await (const message of queue) console.log(printable(JSON.stringify(message)));
    } catch (error) {
      if (signalled) {
        // The queue closed under a pending get: the signal's close ends it below.
      } else if (isConnectionLost(error)) {
        // A closing server cuts a kept-alive socket that carries a get it has not read yet, and then listens
        // no more: the client cannot hear "closed", only that the server is gone.
        console.error(printable(`berrymq tail: lost the server at ${withoutCredentials(url)} (${errorText(error)})`));
        await queue.close();
        return 1;
      } else return failed(this.name, error);
    }
    if (signalled) {
      await stopped;
      return stdoutExitCode(this.name);
    }
    await queue.close();
    console.error("berrymq tail: the server closed the queue");
    return 1;
  },
};

// The errors Node's HTTP client gives when the connection ends or cannot be made.
function isConnectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ECONNRESET" || code === "ECONNREFUSED" || code === "EPIPE";
}
