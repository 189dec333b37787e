import { parseArgs, type ParseArgsConfig } from "node:util";

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
    return { ok: false, code: 0 };
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
  console.error(`berrymq ${command.name}: ${problem}\n\n${command.usage}`);
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

/** The shared secret from `--secret` or the BERRYMQ_SECRET environment variable, as client options. */
export function secretOption(flag: string | undefined): { secret?: string } {
  const secret = flag ?? process.env.BERRYMQ_SECRET;
  return secret === undefined || secret === "" ? {} : { secret };
}

/** Prints an error as `berrymq <name>: <message>` and returns exit code 1. */
export function failed(name: string, error: unknown): number {
  console.error(`berrymq ${name}: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}
