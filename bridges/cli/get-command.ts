import { RemoteQueueClient } from "../jsonrpc/index.js";
import {
  type Command,
  failed,
  integerOption,
  parseWithSecret,
  secretUsage,
  stdoutClosed,
  stdoutExitCode,
  stdoutGone,
} from "./command.js";
import { errorText, printable } from "../../lib/errors.js";

const USAGE = `usage: berrymq get URL [--filter FILTER] [--count N] [--timeout MS] [--nowait] [--secret-file FILE]

Pulls messages from a queue on the bridge server at URL (style 03) and prints each as a JSON line.
Exits 0 after N messages, 1 when fewer came in time (those printed, how many said on stderr). A
message taken whose line stdout does not take (its reader gone: \`| head\`; a full disk, exit 1) is
printed on stderr.

  --filter       the queue's filter (default: the first queue the server owns, see serve --queue);
                 one the server owns no queue for collects only from when get asks: --nowait finds
                 nothing there
  --count        how many messages to take (default 1)
  --timeout      ms to wait for each message (default 10000); a server that answers nothing else
                 (connecting, --nowait) is given up on 5 s past it (at most 30 s)
  --nowait       do not wait: take only what is queued now
${secretUsage(17)}
  The server's shared secret defaults to $BERRYMQ_SECRET.`;

// The endpoint's default call timeout (see RpcEndpoint), and what calls other than the wait get past it.
const DEFAULT_CALL_TIMEOUT = 30_000;
const CALL_MARGIN = 5_000;

/**
 * `berrymq get`: pulls from a remote queue.
 * @example berrymq get http://127.0.0.1:7200/ --count 10 --timeout 5000
 */
export const getCommand: Command = {
  name: "get",
  summary: "pull messages from a queue on a bridge server",
  usage: USAGE,
  async run(argv) {
    const parsed = parseWithSecret(
      this,
      argv,
      {
        filter: { type: "string" },
        count: { type: "string" },
        timeout: { type: "string" },
        nowait: { type: "boolean" },
      },
      { min: 1, max: 1 },
    );
    if (!parsed.ok) return parsed.code;
    const { values } = parsed;
    let count: number;
    let timeout: number;
    try {
      count = integerOption("--count", values.count ?? "1", 1);
      timeout = integerOption("--timeout", values.timeout ?? "10000");
    } catch (error) {
      return failed(this.name, error);
    }
    let queue: RemoteQueueClient;
    try {
      // Shared: several `get` clients of one server queue each take different messages.
      queue = await RemoteQueueClient.connect(parsed.positionals[0] as string, {
        shared: true,
        ttl: 60,
        // Calls other than the wait itself (connect, getNowait, close) give up 5 s past the wait: a server
        // that takes the connection and answers nothing held `get --timeout 1000` for the default 30 s.
        timeout: Math.min(DEFAULT_CALL_TIMEOUT, (values.nowait === true ? 0 : timeout) + CALL_MARGIN),
        ...(values.filter === undefined ? {} : { filter: values.filter }),
        ...parsed.secret,
      });
    } catch (error) {
      return failed(this.name, error);
    }
    // Once stdout's reader is gone (`| head`), no more messages are taken: each would be lost.
    void stdoutClosed();
    let taken = 0;
    // The line of the message taken whose write failed: off the queue and in no output but stderr's.
    let unwritten: string | undefined;
    try {
      for (; taken < count && !stdoutGone(); taken++) {
        const message = values.nowait === true ? await queue.getNowait() : await queue.get({ timeout });
        const line = printable(JSON.stringify(message));
        console.log(line);
        if (stdoutGone()) unwritten = line;
      }
      // A write that failed (a full disk) is said, exit 1; the message it carried is given on stderr, where
      // it can still be kept (it was said lost, unnamed: taken off a shared queue, no worker gets it again).
      const code = stdoutExitCode(this.name);
      if (unwritten !== undefined) console.error(`berrymq get: the message taken and not written to stdout: ${unwritten}`);
      return code;
    } catch (error) {
      if (taken === 0) return failed(this.name, error);
      // Some came first: exit 1 all the same, saying how many, whatever ended it (the queue empty, the wait
      // timed out, the server closed it or went away): a script read exit 1 as "none came".
      console.error(printable(`berrymq get: ${errorText(error)} (${taken} of ${count} taken)`));
      return 1;
    } finally {
      await queue.close();
    }
  },
};
