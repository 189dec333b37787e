#!/usr/bin/env node
// berrymq: the command line. Each command is its own module; add one by importing it and listing it below.
import { brokerCommand } from "./broker-command.js";
import { type Command, stdoutClosed, stdoutExitCode } from "./command.js";
import { getCommand } from "./get-command.js";
import { sendCommand } from "./send-command.js";
import { serveCommand } from "./serve-command.js";
import { tailCommand } from "./tail-command.js";

/** Every `berrymq` command, in the order the help lists them. */
export const COMMANDS: readonly Command[] = [serveCommand, sendCommand, tailCommand, getCommand, brokerCommand];

const USAGE = `usage: berrymq <command> [arguments]   (berrymq <command> --help for details)

commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(8)} ${command.summary}`).join("\n")}`;

/** Runs the command named by `argv[0]`; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  // Every command's output may fail, its help and usage too (> out on a full disk): heard from the start,
  // not thrown (a stack trace, exit 1: a misuse with stderr on a full disk lost its exit code 2).
  void stdoutClosed();
  const [name, ...rest] = argv;
  if (name === undefined) {
    // Misuse, said on stderr as every other misuse is (on stdout, `berrymq > out` wrote the usage there).
    console.error(USAGE);
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return stdoutExitCode(name);
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    console.error(`berrymq: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return 2;
  }
  return command.run(rest);
}

process.exitCode = await main(process.argv.slice(2));
