import { closeSync, openSync, readSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { errorText, InvalidArgumentError, InvalidIdentifierError, printable } from "../../lib/errors.js";

/** One `berrymq` subcommand; main.ts lists them all in one array. */
export interface Command {
  /** What follows `berrymq` on the command line. */
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** Full usage text, printed by `--help`. */
  readonly usage: string;
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** Parsed options and positionals, or the exit code when parsing already answered (help or misuse). */
export type Parsed<O extends NonNullable<ParseArgsConfig["options"]>> =
  | {
      ok: true;
      values: {
        [K in keyof O]?: O[K] extends { multiple: true } ? string[] : O[K] extends { type: "boolean" } ? boolean : string;
      };
      positionals: string[];
    }
  | { ok: false; code: number };

/**
 * Parses a command's arguments with node:util parseArgs, adding `--help`/`-h`: prints the usage for help
 * (exit 0) and the problem plus the usage for misuse (exit 2).
 */
export function parseCommand<O extends NonNullable<ParseArgsConfig["options"]>>(
  command: Pick<Command, "name" | "usage">,
  argv: string[],
  options: O,
  positionals: { min: number; max: number },
): Parsed<O> {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true });
  } catch (error) {
    return usageError(command, error instanceof Error ? error.message : String(error));
  }
  if (parsed.values.help === true) {
    console.log(command.usage);
    return { ok: false, code: stdoutExitCode(command.name) };
  }
  const count = parsed.positionals.length;
  if (count < positionals.min || count > positionals.max) {
    return usageError(
      command,
      `expected ${positionals.min === positionals.max ? positionals.min : `${positionals.min} to ${positionals.max}`} arguments, got ${count}`,
    );
  }
  return { ok: true, values: parsed.values as never, positionals: parsed.positionals };
}

/** Prints `berrymq <name>: <problem>` and the usage on stderr; returns exit code 2. */
export function usageError(command: Pick<Command, "name" | "usage">, problem: string): { ok: false; code: number } {
  // The problem may quote what the user gave (a message's text): printable, as failed() prints, line by
  // line: parseArgs's own messages run over lines (escaped whole, they read "ambiguous.\u000aDid you").
  const text = problem.split("\n").map(printable).join("\n");
  console.error(`berrymq ${command.name}: ${text}\n\n${command.usage}`);
  return { ok: false, code: 2 };
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}

let stdoutWatch: Promise<void> | undefined;
// The watch's error (see stdoutClosed).
let stdoutError: NodeJS.ErrnoException | undefined;

/**
 * Resolves once stdout takes no more: its reader went away (EPIPE: `berrymq tail URL | head` after head
 * exited) or a write failed (ENOSPC: `> out.jsonl` on a full disk, see {@link stdoutFailure}). Unheard, the
 * error was an unhandled 'error' event: a stack trace, exit code 1, tail's queue left open on the server
 * until its ttl, and serve or broker --verbose dead.
 */
export function stdoutClosed(): Promise<void> {
  stdoutWatch ??= new Promise((resolve) => {
    process.stdout.on("error", (error: NodeJS.ErrnoException) => {
      stdoutError ??= error;
      resolve();
    });
    // stderr is often the same pipe (`serve --verbose 2>&1 | head`): its EPIPE, at the line saying stdout
    // is gone, killed the server this watch keeps running. Nobody is left to tell there (of that, or of a
    // full disk): any error of it is taken.
    process.stderr.on("error", () => undefined);
  });
  return stdoutWatch;
}

/** Whether stdout takes no more (see {@link stdoutClosed}, which must be listening). */
export function stdoutGone(): boolean {
  return stdoutError !== undefined || process.stdout.errored != null || process.stdout.destroyed;
}

/**
 * Why stdout took no more when that is a failure (a full disk), as `cannot write to stdout: ...`; undefined
 * while it takes output, and once its reader went away (EPIPE: `| head` has what it asked for).
 */
export function stdoutFailure(): string | undefined {
  // errored is there at once (a file's write fails synchronously); the 'error' event comes a tick later.
  const error = (process.stdout.errored ?? stdoutError) as NodeJS.ErrnoException | null | undefined;
  return error == null || error.code === "EPIPE" ? undefined : `cannot write to stdout: ${errorText(error)}`;
}

/** The exit code of a command that stopped printing: 0, or 1 with {@link stdoutFailure} said on stderr. */
export function stdoutExitCode(name: string): number {
  const failure = stdoutFailure();
  if (failure === undefined) return 0;
  console.error(printable(`berrymq ${name}: ${failure}`));
  return 1;
}

/** The options every command that talks to a server takes for its shared secret. */
export const SECRET_OPTIONS = {
  secret: { type: "string" },
  "secret-file": { type: "string" },
} as const;

/** Usage lines of {@link SECRET_OPTIONS}. */
/** The usage lines of `--secret-file` and `--secret`, descriptions from `column` on. */
export function secretUsage(column: number): string {
  // Descriptions start at `column`, as the command's other options' do (at least one space after the name).
  const at = Math.max(column, "  --secret-file ".length);
  const option = (name: string): string => `  ${name}`.padEnd(at);
  return `${option("--secret-file")}read the shared secret from FILE (trailing newline ignored)
${option("--secret")}the shared secret itself (visible to other users in \`ps\`: prefer
${" ".repeat(at)}--secret-file or $BERRYMQ_SECRET; a warning is printed)`;
}

/**
 * The shared secret from `--secret-file`, `--secret` (with a warning: the command line is visible in
 * `ps`) or the BERRYMQ_SECRET environment variable, as options; or the problem with them.
 */
export function secretOption(values: {
  secret?: string | undefined;
  "secret-file"?: string | undefined;
}): { ok: true; options: { secret?: string } } | { ok: false; problem: string } {
  const flag = values.secret;
  const file = values["secret-file"];
  if (flag !== undefined && file !== undefined) return { ok: false, problem: "give --secret or --secret-file, not both" };
  let secret: string | undefined;
  let source: string;
  if (file !== undefined) {
    source = `--secret-file ${JSON.stringify(file)}`;
    try {
      secret = readSecretFile(file);
    } catch (error) {
      return { ok: false, problem: `cannot read ${source}: ${(error as Error).message}` };
    }
    if (secret === undefined)
      return { ok: false, problem: `${source} is over ${SECRET_BYTES} bytes: not a secret (the wrong file?)` };
    if (secret === "") return { ok: false, problem: `${source} is empty` };
  } else if (flag === "") {
    // As an empty --secret-file is: `serve --secret "$TOKEN"` with TOKEN unset served with no secret at all.
    return { ok: false, problem: "--secret is empty" };
  } else if (flag !== undefined) {
    console.error(
      "berrymq: warning: --secret is visible to other users (ps, shell history); use --secret-file FILE or $BERRYMQ_SECRET",
    );
    source = "--secret";
    secret = flag;
  } else {
    source = "$BERRYMQ_SECRET";
    secret = process.env.BERRYMQ_SECRET;
  }
  if (secret === undefined || secret === "") return { ok: true, options: {} };
  // Anything else fails in the Authorization header: a control character (but a tab inside) or one past
  // U+00FF is refused by Node's HTTP client ("far side unreachable"), one past U+007E and a space or tab at
  // either end arrive changed (a 401 for the right secret); a server given one could never be called. A tab
  // inside is carried as it is (RFC 9110 field-content). The secret itself is not printed.
  if (!/^[\x21-\x7e]([\t\x20-\x7e]*[\x21-\x7e])?$/.test(secret)) {
    // The likeliest cause said: a variable set from a file (a Kubernetes secret, `$(cat file)` keeps none)
    // ends with a line break, which a --secret-file's is stripped of.
    const hint = /^[^\r\n]*\r?\n$/.test(secret) ? ": it ends with a line break (set it without one, or use --secret-file)" : "";
    return { ok: false, problem: `the secret from ${source} is not printable ASCII without a space at either end${hint}` };
  }
  return { ok: true, options: { secret } };
}

// The most bytes --secret-file reads: a secret is short (HTTP servers take 16 KiB of headers in all), and
// the wrong file (a log, /dev/zero) was read whole: 8 GB and no end for /dev/zero.
const SECRET_BYTES = 4_096;

// The file's text without its trailing newline, or undefined when that is over SECRET_BYTES (read no
// further). The bound is the secret's: counting the newline refused a secret of SECRET_BYTES in a file.
function readSecretFile(file: string): string | undefined {
  // Room for a secret of SECRET_BYTES, its line end ("\r\n") and one byte more.
  const buffer = Buffer.alloc(SECRET_BYTES + 3);
  const fd = openSync(file, "r");
  try {
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    const text = buffer.toString("utf8", 0, length).replace(/\r?\n$/, "");
    return Buffer.byteLength(text) > SECRET_BYTES ? undefined : text;
  } finally {
    closeSync(fd);
  }
}

/** {@link Parsed} for a command that talks to a server: also the shared secret, as client or server options. */
export type ParsedWithSecret<O extends NonNullable<ParseArgsConfig["options"]>> =
  | (Extract<Parsed<O & typeof SECRET_OPTIONS>, { ok: true }> & { secret: { secret?: string } })
  | { ok: false; code: number };

/**
 * {@link parseCommand} with {@link SECRET_OPTIONS} added and the secret resolved by {@link secretOption}:
 * a problem with the secret is a usage error (exit 2), like any other bad argument.
 */
export function parseWithSecret<O extends NonNullable<ParseArgsConfig["options"]>>(
  command: Pick<Command, "name" | "usage">,
  argv: string[],
  options: O,
  positionals: { min: number; max: number },
): ParsedWithSecret<O> {
  const parsed = parseCommand(command, argv, { ...options, ...SECRET_OPTIONS }, positionals);
  if (!parsed.ok) return parsed;
  // The generic mapped type does not narrow for the two known keys: read them as what parseArgs gives.
  const secret = secretOption(parsed.values as { secret?: string; "secret-file"?: string });
  if (!secret.ok) return usageError(command, secret.problem);
  return { ...parsed, secret: secret.options };
}

/**
 * Prints an error as `berrymq <name>: <message>` and returns the exit code: 2 for misuse (an argument the
 * library refused: InvalidArgumentError, InvalidIdentifierError), 1 for anything else.
 */
export function failed(name: string, error: unknown): number {
  // What a server or broker said reaches the terminal: printable, or it could write escape sequences.
  console.error(printable(`berrymq ${name}: ${errorText(error)}`));
  return error instanceof InvalidArgumentError || error instanceof InvalidIdentifierError ? 2 : 1;
}

/**
 * An integer option's value, given in decimal digits only (Number() took "" and " " as 0, "0x1F90" as
 * 8080, "1e3" as 1000), from `min` to `max`; else an InvalidArgumentError naming `name` and the value.
 */
export function integerOption(name: string, value: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const number = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= min && number <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InvalidArgumentError(name, value, `an integer ${range}, in decimal digits`);
  }
  return number;
}
