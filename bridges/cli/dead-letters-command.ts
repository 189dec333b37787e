import { parseArgs } from "node:util";
import { type DeadLetter, eachDeadLetter, type UnreadableLine } from "../zeromq/dead-letters.js";
import { errorText, printable } from "../../lib/errors.js";

// Unreadable lines named one by one on stderr; past this many, only counted.
const NAMED_UNREADABLE = 20;

/**
 * `berrymq broker dead-letters FILE [--json]`: lists the broker's dead letters, one per line (or as JSON
 * lines), reading the file as it prints (bounded memory, whatever its size). Lines that are no dead letter
 * (a line torn by a crash, damage) are named on stderr with their line numbers and counted in the summary.
 * @returns the exit code: 0, 1 when the file cannot be read, 2 for bad arguments.
 */
export function deadLettersCommand(argv: string[]): number {
  let file: string | undefined;
  let json = false;
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { json: { type: "boolean" } }, allowPositionals: true });
    if (positionals.length !== 1) throw new Error("expected exactly one dead-letter FILE");
    file = positionals[0];
    json = values.json === true;
  } catch (error) {
    console.error(
      `berrymq broker dead-letters: ${error instanceof Error ? error.message : String(error)}\nusage: berrymq broker dead-letters FILE [--json]`,
    );
    return 2;
  }
  let count = 0;
  let unreadable = 0;
  const onLetter = (letter: DeadLetter): void => {
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
    eachDeadLetter(file as string, onLetter, onUnreadable);
  } catch (error) {
    console.error(printable(`berrymq broker dead-letters: ${errorText(error)}`));
    return 1;
  }
  const skipped = `${unreadable} unreadable line(s) skipped (a line torn by a crash, or damage)`;
  if (unreadable > NAMED_UNREADABLE) console.error(`berrymq broker dead-letters: ${file}: ${skipped}`);
  if (!json) console.log(`${count} dead letter(s) in ${file}${unreadable > 0 ? `; ${skipped}` : ""}`);
  return 0;
}
