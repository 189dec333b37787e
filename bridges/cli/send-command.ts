import { isPlainObject } from "../../lib/kwargs.js";
import { Bus } from "../../lib/bus.js";
import { kw } from "../../lib/kwargs.js";
import { SendOnlyClient, UnsendableMessageError } from "../jsonrpc/index.js";
import { withoutCredentials } from "../jsonrpc/rpc-endpoint.js";
import { type Command, failed, parseWithSecret, secretUsage, usageError } from "./command.js";

const USAGE = `usage: berrymq send URL IDENTIFIER [ARGS_JSON] [KWARGS_JSON] [--secret-file FILE]

Sends one message to the bridge server at URL (style 02) and exits once the server took it.

  ARGS_JSON      a JSON array of arguments (default [])
  KWARGS_JSON    a JSON object of keyword arguments (default {})
${secretUsage(17)}
  The server's shared secret defaults to $BERRYMQ_SECRET.

example: berrymq send http://127.0.0.1:7200/ app:log '["disk full"]' '{"level": 3}'`;

/**
 * `berrymq send`: one message to a bridge server.
 * @example berrymq send http://127.0.0.1:7200/ app:log '["disk full"]' '{"level": 3}'
 */
export const sendCommand: Command = {
  name: "send",
  summary: "send one message to a bridge server",
  usage: USAGE,
  async run(argv) {
    const parsed = parseWithSecret(this, argv, {}, { min: 2, max: 4 });
    if (!parsed.ok) return parsed.code;
    const [url, identifier, argsJson = "[]", kwargsJson = "{}"] = parsed.positionals as [string, string, string?, string?];
    const args = parseJson(argsJson);
    if (!Array.isArray(args)) return usageError(this, `ARGS_JSON ${JSON.stringify(argsJson)} is not a JSON array`).code;
    const kwargs = parseJson(kwargsJson);
    if (!isPlainObject(kwargs)) return usageError(this, `KWARGS_JSON ${JSON.stringify(kwargsJson)} is not a JSON object`).code;
    const bus = new Bus();
    let client: SendOnlyClient;
    const problems: Error[] = [];
    try {
      client = new SendOnlyClient(url, {
        bus,
        retryDelay: { initial: 50, max: 500 },
        closeTimeout: 3_000,
        ...parsed.secret,
      });
      // Heard before the send: a message the link cannot carry (a number JSON has not, nested too deep, an
      // identifier too long) is refused within twitter(); unheard, it became a Node warning on stderr.
      client.on("error", (error) => void problems.push(error));
      bus.twitter(identifier, ...args, kw(kwargs));
    } catch (error) {
      return usageError(this, error instanceof Error ? error.message : String(error)).code;
    }
    const refused = problems.find((problem) => problem instanceof UnsendableMessageError);
    // The message given cannot be sent, now or ever: misuse (exit 2), as a bad ARGS_JSON is.
    if (refused !== undefined) {
      await client.close();
      return usageError(this, refused.message).code;
    }
    const { undelivered } = await client.close();
    if (undelivered.length > 0 || client.stats.sent === 0)
      return failed(this.name, problems[0] ?? new Error(`not delivered to ${withoutCredentials(url)}`));
    return 0;
  },
};

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
