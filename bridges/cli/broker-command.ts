import { realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { describe, InvalidArgumentError, MissingDependencyError, printable } from "../../lib/errors.js";
import type { Broker } from "../zeromq/index.js";
import { failed, integerOption, stdoutClosed, stdoutExitCode, stdoutFailure, untilSignal } from "./command.js";
import { deadLettersCommand } from "./dead-letters-command.js";

const USAGE = `usage: berrymq broker [--bind ADDRESS] [--pub-port PORT] [--recv-port PORT]
                      [--persist-file FILE] [--fsync batch|none] [--resend-interval MS]
                      [--max-unacked N] [--max-unacked-bytes N] [--max-unacked-per-client N]
                      [--max-unacked-bytes-per-client N] [--max-subscriber-queue-bytes N]
                      [--expiry MS] [--max-expiry MS] [--no-subscriber hold|refuse]
                      [--dead-letter-file FILE] [--max-message-bytes N] [--verbose]
       berrymq broker dead-letters FILE [--json]

  --bind                    address to bind on (default 127.0.0.1)
  --pub-port                port clients receive on (default 7201)
  --recv-port               port clients send to (default 7202)
  --persist-file            append-only log keeping unacknowledged messages across restarts
  --fsync                   batch: fdatasync before confirming a batch (default); none: leave it to
                            the OS
  --resend-interval         ms before an unacknowledged message is sent again (default 1000)
  --max-unacked             most unacknowledged messages held (default 10000)
  --max-unacked-bytes       most bytes of unacknowledged messages held (default 268435456)
  --max-unacked-per-client  most held for one publishing client (default 1000)
  --max-unacked-bytes-per-client
                            most bytes held for one publishing client (default a tenth of
                            --max-unacked-bytes)
  --max-subscriber-queue-bytes
                            most bytes sent to one subscriber and not yet read by it (default
                            268435456); past it, deliveries to it are dropped until it reads
  --expiry                  ms before an unacknowledged message becomes a dead letter (default
                            3600000; Infinity: never, with --max-expiry Infinity); at most
                            --max-expiry
  --max-expiry              longest expiry a message may ask for, in ms (default 86400000;
                            Infinity: no limit); cuts --expiry too
  --no-subscriber           hold (default) or refuse acknowledged messages nobody subscribes to
  --dead-letter-file        append expired messages here (JSON lines)
  --max-message-bytes       largest batch body a client should send (default 16777216); a client
                            sending a frame over twice this is cut unread
  --verbose                 print what the broker does`;

/**
 * `berrymq broker`: runs the ZeroMQ broker until SIGINT or SIGTERM.
 * @example berrymq broker --bind 127.0.0.1 --pub-port 7201 --recv-port 7202 --persist-file acks.log --verbose
 */
export const brokerCommand = {
  name: "broker",
  summary: "run the ZeroMQ message broker (fan-out, acknowledged delivery, persistence)",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    if (argv[0] === "dead-letters") return deadLettersCommand(argv.slice(1));
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          bind: { type: "string" },
          "pub-port": { type: "string" },
          "recv-port": { type: "string" },
          "persist-file": { type: "string" },
          fsync: { type: "string" },
          "resend-interval": { type: "string" },
          "max-unacked": { type: "string" },
          "max-unacked-bytes": { type: "string" },
          "max-unacked-per-client": { type: "string" },
          "max-unacked-bytes-per-client": { type: "string" },
          "max-subscriber-queue-bytes": { type: "string" },
          expiry: { type: "string" },
          "max-expiry": { type: "string" },
          "no-subscriber": { type: "string" },
          "dead-letter-file": { type: "string" },
          "max-message-bytes": { type: "string" },
          verbose: { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
      }));
    } catch (error) {
      console.error(`berrymq broker: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
      return 2;
    }
    if (values.help === true) {
      console.log(USAGE);
      return stdoutExitCode(this.name);
    }
    const verbose = values.verbose === true;
    // A broker outlives its output (`broker --verbose | head`, or `> log` on a full disk): the EPIPE or ENOSPC
    // killed it at the next line.
    void stdoutClosed().then(() =>
      console.error(printable(`berrymq broker: ${stdoutFailure() ?? "stdout closed"}: running on, printing nothing more there`)),
    );
    let broker: Broker;
    try {
      // An empty value, refused naming its option: ZeroMQ said "No such device" for --bind "", and an empty
      // --dead-letter-file was told as `persist file "": ENOENT` (exit 1).
      for (const [name, expected] of Object.entries(NON_EMPTY)) {
        const value = values[name];
        if (typeof value === "string" && value.trim() === "") throw new InvalidArgumentError(`--${name}`, value, expected);
      }
      const deadLetters = values["dead-letter-file"];
      if (
        typeof deadLetters === "string" &&
        typeof values["persist-file"] === "string" &&
        sameFile(deadLetters, values["persist-file"])
      )
        throw new InvalidArgumentError("--dead-letter-file", deadLetters, "a file other than --persist-file");
      // Loaded here, not at startup: the other commands work without the optional zeromq package.
      const { Broker } = await import("../zeromq/index.js");
      broker = await Broker.start({
        ...(typeof values.bind === "string" ? { bind: values.bind } : {}),
        ...numberOption("pub-port", values["pub-port"]),
        ...numberOption("recv-port", values["recv-port"]),
        ...numberOption("resend-interval", values["resend-interval"]),
        ...numberOption("max-unacked", values["max-unacked"]),
        ...numberOption("max-unacked-bytes", values["max-unacked-bytes"]),
        ...numberOption("max-unacked-per-client", values["max-unacked-per-client"]),
        ...numberOption("max-unacked-bytes-per-client", values["max-unacked-bytes-per-client"]),
        ...numberOption("max-subscriber-queue-bytes", values["max-subscriber-queue-bytes"]),
        ...numberOption("max-message-bytes", values["max-message-bytes"]),
        ...expiryOptions(values.expiry, values["max-expiry"]),
        ...(typeof values["no-subscriber"] === "string" ? { noSubscriber: values["no-subscriber"] as "hold" } : {}),
        ...(typeof values["dead-letter-file"] === "string" ? { deadLetterFile: values["dead-letter-file"] } : {}),
        ...(typeof values["persist-file"] === "string" ? { persistFile: values["persist-file"] } : {}),
        ...(typeof values.fsync === "string" ? { fsync: values.fsync as "batch" } : {}),
        // Log lines and errors name what clients sent (messageIds, patterns): printed with their terminal
        // control characters escaped, or a client could write escape sequences to the operator's terminal.
        ...(verbose ? { log: (line: string) => console.log(printable(`[broker] ${line}`)) } : {}),
      });
    } catch (error) {
      const code = failed("broker", bindError(flagError(error)));
      if (error instanceof MissingDependencyError)
        console.error("  (the broker runs on ZeroMQ; the other commands do not need it)");
      return code;
    }
    // Errors are printed by the verbose log; without it, still say something on stderr.
    broker.on("error", (error) => {
      if (!verbose) console.error(printable(`[broker] ${error.message}`));
    });
    // Listening before the banner, as serve does.
    const signalled = untilSignal();
    console.log(
      `berrymq broker: pub tcp://${values.bind ?? "127.0.0.1"}:${broker.pubPort}, recv tcp://${values.bind ?? "127.0.0.1"}:${broker.recvPort}`,
    );
    await signalled;
    broker.close();
    return 0;
  },
};

// Options an empty value cannot mean anything for, and what they take.
const NON_EMPTY = { bind: "an address or interface name", "persist-file": "a file path", "dead-letter-file": "a file path" };

// Whether two paths name one file (a link to it too). One file for both mixed dead letters into the persist
// log: its next start reported it damaged, and its rewrite dropped the dead letters.
function sameFile(a: string, b: string): boolean {
  try {
    const [first, second] = [statSync(a), statSync(b)];
    return first.dev === second.dev && first.ino === second.ino;
  } catch {
    return whereNew(a) === whereNew(b); // one of them not there yet
  }
}

// Where a file not there yet will be: its directory's real path (links followed: `data/f` and `linked/f`,
// with linked a link to data, are one file) and its name. Compared as written, they were two.
function whereNew(path: string): string {
  const absolute = resolve(path);
  try {
    return join(realpathSync(dirname(absolute)), basename(absolute));
  } catch {
    return absolute; // no such directory: the broker says so
  }
}

// ZeroMQ's bind errors say only "Address already in use" or "No such device": which address is on the error.
function bindError(error: unknown): unknown {
  const { address, code } = (error ?? {}) as { address?: unknown; code?: unknown };
  if (!(error instanceof Error) || typeof address !== "string" || typeof code !== "string") return error;
  return new Error(`cannot bind ${address}: ${error.message}`, { cause: error });
}

// The broker's option each flag sets, for the flags numberOption and durationOption read.
const OPTION_OF = {
  "pub-port": "pubPort",
  "recv-port": "recvPort",
  "resend-interval": "resendInterval",
  "max-unacked": "maxUnacked",
  "max-unacked-bytes": "maxUnackedBytes",
  "max-unacked-per-client": "maxUnackedPerClient",
  "max-unacked-bytes-per-client": "maxUnackedBytesPerClient",
  "max-subscriber-queue-bytes": "maxSubscriberQueueBytes",
  "max-message-bytes": "maxMessageBytes",
  expiry: "expiry",
  "max-expiry": "maxExpiry",
} as const;
type NumberFlag = keyof typeof OPTION_OF;

// The flag that sets each broker option the broker may refuse (the broker names its own option: a user of
// the CLI was told of `pubPort`, which no flag is called).
const FLAG_OF: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(OPTION_OF).map(([flag, option]) => [option, `--${flag}`])),
  fsync: "--fsync",
  "options.noSubscriber": "--no-subscriber",
};

// An InvalidArgumentError of the broker naming one of its options, told again naming the flag instead.
function flagError(error: unknown): unknown {
  if (!(error instanceof InvalidArgumentError)) return error;
  const flag = FLAG_OF[error.argument];
  const said = `invalid ${error.argument} ${describe(error.value)}: expected `;
  if (flag === undefined || !error.message.startsWith(said)) return error;
  return new InvalidArgumentError(flag, error.value, error.message.slice(said.length));
}

// An integer option given (see integerOption), as the broker's option it sets; refused naming the flag.
function numberOption(flag: NumberFlag, value: string | boolean | undefined): Record<string, number> {
  return typeof value === "string" ? { [OPTION_OF[flag]]: integerOption(`--${flag}`, value) } : {};
}

// The broker's default maxExpiry, as the usage says.
const MAX_EXPIRY = 86_400_000;

// --expiry and --max-expiry as the broker's options. The broker cuts its default expiry to maxExpiry as it
// cuts a message's: `--expiry Infinity` alone ("never", said the usage) was 24 h. An expiry over the
// max is refused, naming both, rather than cut unsaid.
function expiryOptions(expiry: string | boolean | undefined, maxExpiry: string | boolean | undefined): Record<string, number> {
  const options = { ...durationOption("expiry", expiry), ...durationOption("max-expiry", maxExpiry) };
  const max = options.maxExpiry ?? MAX_EXPIRY;
  if (options.expiry !== undefined && options.expiry > max) {
    const given = maxExpiry === undefined ? `${max} (its default): give --max-expiry too` : String(max);
    throw new InvalidArgumentError("--expiry", expiry, `at most --max-expiry, ${given}`);
  }
  return options;
}

// An expiry: an integer of ms, or "Infinity" (never), as the broker's options take it (the CLI took
// integers only: the documented "never" could not be said).
function durationOption(flag: NumberFlag, value: string | boolean | undefined): Record<string, number> {
  if (value === "Infinity") return { [OPTION_OF[flag]]: Number.POSITIVE_INFINITY };
  return numberOption(flag, value);
}
