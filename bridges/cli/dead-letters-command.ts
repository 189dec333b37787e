import { existsSync } from "node:fs";
import { type DeadLetter, eachDeadLetter, type UnreadableLine } from "../zeromq/dead-letters.js";
import { errorText, printable } from "../../lib/errors.js";
import { parseCommand, stdoutClosed, stdoutExitCode, stdoutGone } from "./command.js";

const DEAD_LETTERS = {
  name: "broker dead-letters",
  usage: `usage: berrymq broker dead-letters FILE [--json]

Lists the dead letters the broker wrote to FILE (its --dead-letter-file), one per line, or as JSON lines
with --json. Lines that are no dead letter (torn by a crash, damaged) are named on stderr and counted.`,
};

// Unreadable lines named one by one on stderr; past this many, only counted.
const NAMED_UNREADABLE = 20;

// Set once stdout's reader went away (`| head`): the rest of the listing is not wanted.
// Thrown out of the reading loop once stdout's reader is gone (`| head`: the listing stops there, exit
// code 0). The listing reads the file synchronously, so the 'error' event (emitted on the next tick) came
// only after the whole file was read and printed to nobody (an 85 MB file: 7 s after `head` had its line,
// found in review): stdoutGone() reads the stream's error, there at once.
const STOP = Symbol("stdout closed");

/**
 * `berrymq broker dead-letters FILE [--json]`: lists the broker's dead letters, one per line (or as JSON
 * lines), reading the file as it prints (bounded memory, whatever its size). Lines that are no dead letter
 * (a line torn by a crash, damage) are named on stderr with their line numbers and counted in the summary.
 * @returns the exit code: 0, 1 when the file cannot be read, 2 for bad arguments.
 */
export function deadLettersCommand(argv: string[]): number {
  const parsed = parseCommand(DEAD_LETTERS, argv, { json: { type: "boolean" } }, { min: 1, max: 1 });
  if (!parsed.ok) return parsed.code;
  const file = parsed.positionals[0] as string;
  const json = parsed.values.json === true;
  // The broker writes the file with its first dead letter: none yet, or a wrong path (said, not silent).
  if (!existsSync(file))
    console.error(printable(`berrymq broker dead-letters: ${file} does not exist (no dead letter written yet, or a wrong path)`));
  let count = 0;
  let unreadable = 0;
  void stdoutClosed(); // an EPIPE is taken (not thrown); stdoutGone() tells it
  const onLetter = (letter: DeadLetter): void => {
    if (stdoutGone()) throw STOP;
    count++;
    if (json) console.log(printable(JSON.stringify(letter)));
    else {
      const held = Math.round((letter.deadAt - letter.heldAt) / 1_000);
      const { reason, identifier, messageId, senderId, payload } = letter;
      console.log(
        printable(
          `${new Date(letter.deadAt).toISOString()}  ${reason}  ${identifier}  ${messageId}  from ${senderId}, held ${held} s  ${payload}`,
        ),
      );
    }
  };
  const onUnreadable = ({ line, reason }: UnreadableLine): void => {
    unreadable++;
    if (unreadable <= NAMED_UNREADABLE)
      console.error(printable(`berrymq broker dead-letters: ${file}: line ${line} is no dead letter: ${reason}`));
  };
  try {
    eachDeadLetter(file, onLetter, onUnreadable);
  } catch (error) {
    if (error === STOP) return stdoutExitCode(DEAD_LETTERS.name);
    console.error(printable(`berrymq broker dead-letters: ${errorText(error)}`));
    return 1;
  }
  const skipped = `${unreadable} unreadable line(s) skipped (a line torn by a crash, or damage)`;
  if (unreadable > NAMED_UNREADABLE) console.error(`berrymq broker dead-letters: ${file}: ${skipped}`);
  if (!json) console.log(`${count} dead letter(s) in ${file}${unreadable > 0 ? `; ${skipped}` : ""}`);
  // The last line's write may have failed too (a full disk): said, exit 1.
  return stdoutExitCode(DEAD_LETTERS.name);
}
