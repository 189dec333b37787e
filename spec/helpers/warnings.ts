import { sleep } from "./wait-for.js";

/** The process warnings emitted while `body` runs (they come on a later tick: a short wait after it). */
export async function warningsDuring(body: () => void | Promise<void>): Promise<Error[]> {
  const warnings: Error[] = [];
  const listener = (warning: Error): void => void warnings.push(warning);
  process.on("warning", listener);
  try {
    await body();
    await sleep(10);
  } finally {
    process.off("warning", listener);
  }
  return warnings;
}

/** Like {@link warningsDuring}, each warning as "<name>: <message>". */
export async function warningTextsDuring(body: () => void | Promise<void>): Promise<string[]> {
  return (await warningsDuring(body)).map((warning) => `${warning.name}: ${warning.message}`);
}
