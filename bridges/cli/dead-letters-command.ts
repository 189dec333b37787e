import { parseArgs } from "node:util";
import { readDeadLetters } from "../zeromq/dead-letters.js";

/**
 * `berrymq broker dead-letters FILE [--json]`: lists the broker's dead letters, one per line (or as JSON lines).
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
    console.error(`berrymq broker dead-letters: ${error instanceof Error ? error.message : String(error)}\nusage: berrymq broker dead-letters FILE [--json]`);
    return 2;
  }
  try {
    const letters = readDeadLetters(file as string);
    for (const letter of letters) {
      if (json) console.log(JSON.stringify(letter));
      else {
        const held = Math.round((letter.deadAt - letter.heldAt) / 1_000);
        console.log(`${new Date(letter.deadAt).toISOString()}  ${letter.reason}  ${letter.identifier}  ${letter.messageId}  from ${letter.senderId}, held ${held} s  ${letter.payload}`);
      }
    }
    if (!json) console.log(`${letters.length} dead letter(s) in ${file}`);
    return 0;
  } catch (error) {
    console.error(`berrymq broker dead-letters: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
