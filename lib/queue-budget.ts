import { InvalidArgumentError } from "./errors.js";

/** Options of a {@link QueueBudget}. */
export interface QueueBudgetOptions {
  /** What its queues' overflow errors call it (default `"budget"`), e.g. the option it comes from. */
  name?: string;
  /**
   * Shared queues on this budget share their buffers only with each other: not with the bus's other shared
   * queues of their filter, which neither see them nor are refused for a different budget. Default false.
   */
  isolated?: boolean;
}

/** What the queues on one budget hold now: counted by their buffers (lib/queue.ts), read by the budget. */
export interface BudgetLedger {
  held: number;
  readonly maxBytes: number;
}

let ledgerOf: (budget: QueueBudget) => BudgetLedger;

/**
 * A bound on what several queues hold together (the `budget` option of `Queue`), counted as `maxBytes`
 * counts: each message as the length of its args and kwargs in JSON, in every queue that holds it. A
 * message that would take `held` past `maxBytes` meets the queue's `overflow` policy, as past its own bounds;
 * one a waiting `get` takes is never counted.
 * @example
 * const budget = new QueueBudget(1_000_000);
 * const logs = new Queue("log:*", { budget });
 * const audit = new Queue("audit:*", { budget, overflow: "drop-oldest" });
 * // logs and audit hold at most 1,000,000 characters together; budget.held says how many now.
 */
export class QueueBudget {
  /** Most characters the queues on this budget hold together. */
  readonly maxBytes: number;
  /** What overflow errors call this budget. */
  readonly name: string;
  /** Whether its shared queues share buffers only with each other (see {@link QueueBudgetOptions.isolated}). */
  readonly isolated: boolean;
  readonly #ledger: BudgetLedger;

  static {
    ledgerOf = (budget) => budget.#ledger;
  }

  constructor(maxBytes: number, options: QueueBudgetOptions = {}) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new InvalidArgumentError("maxBytes", maxBytes, "an integer >= 1");
    this.maxBytes = maxBytes;
    this.#ledger = { held: 0, maxBytes };
    this.name = options.name ?? "budget";
    this.isolated = options.isolated === true;
  }

  /** Characters the queues on this budget hold now. */
  get held(): number {
    return this.#ledger.held;
  }
}

/** The ledger the queues on `budget` count in (lib/queue.ts's buffers only; not exported from berrymq). */
export function budgetLedger(budget: QueueBudget): BudgetLedger {
  return ledgerOf(budget);
}
