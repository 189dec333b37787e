// Review of r24's unrouted answers (an answer sent on every link because its bus knows no way back to the
// asker): the links that carry such an answer were counted at its first drop, not when it was sent. A
// carrier that delivered it and closed before another dropped it was then not counted, and the last drop
// read as "dropped everywhere": the asker got the value AND an error answer. A link opened between the
// send and the first drop was counted, so the error answer never went and the asker waited out its
// timeout. Now the carriers are counted as the answer goes out, a carrier that sent it settles it (no
// error answer), and the error answer goes once each carrier dropped it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Envelope, toEnvelope } from "../../bridges/envelope.js";
import { UNROUTED_DROPS_LIMIT } from "../../bridges/link-table.js";
import { Bus } from "../../lib/bus.js";
import { createMessage, type Message } from "../../lib/message.js";
import { RemoteError } from "../../lib/request-errors.js";
import { within } from "../../lib/request.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

const LIMIT = 200;
const tooLarge = (args: unknown): boolean => JSON.stringify(args ?? null).length > LIMIT;

// As BrokerLink and RedisLink do with a frame over the far side's limit: the transmit fails (here after
// 300 ms, a receipt's wait), then the Link asks unwritable() and drops the message, well after its enqueue.
class FramedLink extends MemoryLink {
  /** Transmits that failed on a frame too large, begun so far. */
  failing = 0;
  /** When set, a transmit of a frame too large fails once this settles (else after 300 ms). */
  failWhen: Promise<void> | undefined;
  protected override async transmit(batch: Envelope[]): Promise<void> {
    if (batch.some((envelope) => tooLarge((envelope as { args?: unknown }).args))) {
      this.failing++;
      await (this.failWhen ?? sleep(300));
      throw new Error("frame too large");
    }
    return super.transmit(batch);
  }
  protected override unwritable(message: Message): string | undefined {
    return tooLarge(message.args) ? "too large" : undefined;
  }
}

// Buses `<prefix>-<id>`, each with a listener for the errors its links report.
function buses<const Ids extends string[]>(prefix: string, ...ids: Ids): { [K in keyof Ids]: Bus } {
  return ids.map((id) => {
    const bus = new Bus({ id: `${prefix}-${id}` });
    bus.on("error", () => {});
    return bus;
  }) as { [K in keyof Ids]: Bus };
}

/**
 * A-H-B and A-K-B: B answers svc:big after 200 ms with 500 characters, which B-K cannot carry (K passes
 * only other:* on to B, so B learns no way to A through K).
 */
function bigAnswerThroughK(a: Bus, h: Bus, k: Bus, b: Bus) {
  b.follow("svc:big", async () => {
    await sleep(200);
    return "x".repeat(500);
  });
  const ah = MemoryLink.pair({ bus: a }, { bus: h });
  const bh = MemoryLink.pair({ bus: b }, { bus: h });
  const ak = MemoryLink.pair({ bus: a }, { bus: k });
  const kb = FramedLink.pair({ bus: k, exportFilters: ["other:*"] }, { bus: b });
  return { ah, bh, ak, kb };
}

/** `a.ask("svc:big")` settled: the value, or the error it rejected with. */
const askBig = (a: Bus, timeout: number): Promise<unknown> =>
  a.ask("svc:big", within({ timeout })).then(
    (value) => value,
    (error: unknown) => error,
  );

const shown = (answers: { ok: boolean; value?: unknown; error?: RemoteError }[]): string[] =>
  answers.map((answer) => (answer.ok ? `ok ${String(answer.value).length} chars` : `error ${answer.error?.remoteName}`));

describe("red team r24 review: the links an unrouted answer went out on, counted as it goes", () => {
  // A-H-B, A-K-B and A-J-B. K and J pass only other:* on to B, so B learns no way to A through them; B's way
  // back through H closes before B answers, so its answer goes out on B-K and B-J. B-K cannot carry it.
  async function mesh(prefix: string, closeJ: boolean): Promise<string[]> {
    const [a, h, k, j, b] = buses(prefix, "A", "H", "K", "J", "B");
    const { ah, bh, ak, kb } = bigAnswerThroughK(a, h, k, b);
    const aj = MemoryLink.pair({ bus: a }, { bus: j });
    const jb = MemoryLink.pair({ bus: j, exportFilters: ["other:*"] }, { bus: b });
    await sleep(50);
    const answers = a.request<string>("svc:big", within({ count: "all", timeout: 1_500 }));
    await sleep(50);
    for (const link of bh) await link.close();
    await waitFor(() => aj[0].answersReceived > 0 && kb[1].failing > 0, "the value through J, B-K failing on it");
    // B-J delivered the value; it closes before B-K gives up on the large frame.
    if (closeJ) for (const link of jb) await link.close();
    const got = shown(await answers);
    for (const link of [...ah, ...ak, ...kb, ...aj, ...jb]) await link.close();
    return got;
  }

  it("a carrier delivered the value and closed, the other then dropped it: no error answer beside the value", async () => {
    assert.deepEqual(await mesh("r24r1", true), ["ok 500 chars"]);
  });

  it("the same with the carrier left open: the value only", async () => {
    assert.deepEqual(await mesh("r24r2", false), ["ok 500 chars"]);
  });

  it("a link opened after the answer went out is no carrier of it: the one carrier's drop sends the error answer", async () => {
    // A-H-B and A-K-B as above; B-X opens after B sent its answer on B-K alone, before B-K drops it.
    const [a, h, k, b, x] = buses("r24r3", "A", "H", "K", "B", "X");
    const { ah, bh, ak, kb } = bigAnswerThroughK(a, h, k, b);
    await sleep(50);
    const asked = askBig(a, 2_000);
    await sleep(50);
    for (const link of bh) await link.close();
    await waitFor(() => kb[1].failing > 0, "B-K failing on the answer");
    const bx = MemoryLink.pair({ bus: b }, { bus: x });
    const started = Date.now();
    const error = await asked;
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(error.remoteName, "UnsendableMessageError");
    assert.equal(error.bus, "r24r3-B");
    assert.ok(Date.now() - started < 1_000, "at B-K's drop, not at the timeout");
    assert.equal(a.pendingRequests, 0);
    for (const link of [...ah, ...ak, ...kb, ...bx]) await link.close();
  });
  // B-D is a dead end with a full buffer, linked before B-K: it drops the answer as it goes out, before
  // B-K (later in the bus's dispatch) took it.
  async function deadEndFirst(prefix: string, value: () => unknown): Promise<string[]> {
    const [a, h, k, b, d] = buses(prefix, "A", "H", "K", "B", "D");
    b.follow("svc:slow", async () => {
      await sleep(200);
      return value();
    });
    const bd = MemoryLink.pair({ bus: b, bufferSize: 2, closeTimeout: 0 }, { bus: d });
    const ah = MemoryLink.pair({ bus: a }, { bus: h });
    const bh = MemoryLink.pair({ bus: b }, { bus: h });
    const ak = MemoryLink.pair({ bus: a }, { bus: k });
    const kb = MemoryLink.pair({ bus: k, exportFilters: ["other:*"] }, { bus: b });
    await sleep(50);
    bd[0].reachable = false;
    for (let i = 0; i < 5; i++) b.twitter("fill:x", i);
    await sleep(20);
    const answers = a.request("svc:slow", within({ count: "all", timeout: 800 }));
    await sleep(50);
    for (const link of bh) await link.close();
    const got = shown(await answers);
    for (const link of [...ah, ...ak, ...kb, ...bd]) await link.close();
    return got;
  }

  it("the first link drops it at once, a later one in the same dispatch sends it: the value only", async () => {
    assert.deepEqual(await deadEndFirst("r24r4", () => "value"), ["ok 5 chars"]);
  });

  it("both links drop it at once: one error answer", async () => {
    assert.deepEqual(await deadEndFirst("r24r5", () => 2n ** 70n), ["error UnsendableMessageError"]);
  });
  it("answers sent leave the count: more than it holds, sent meanwhile, do not crowd out one waiting on its drop", async () => {
    // As the test before last; then B-X and B-Y open, and X sends B more unrouted answers (to a bus Z no one
    // knows) than the table counts: B-Y sends each on (B-K holds them behind the one it is failing on).
    const [a, h, k, b, x, y] = buses("r24r6", "A", "H", "K", "B", "X", "Y");
    const { ah, bh, ak, kb } = bigAnswerThroughK(a, h, k, b);
    // B-K fails on the answer only once the flood below is sent on (300 ms were too short on a loaded CI).
    let flooded = (): void => {};
    kb[1].failWhen = new Promise<void>((resolve) => {
      flooded = resolve;
    });
    await sleep(50);
    const asked = askBig(a, 10_000);
    await sleep(50);
    for (const link of bh) await link.close();
    await waitFor(() => kb[1].failing > 0, "B-K failing on the answer");
    const bx = MemoryLink.pair({ bus: b }, { bus: x });
    const by = MemoryLink.pair({ bus: b }, { bus: y });
    // In chunks, each sent on before the next comes: never more than a chunk waiting at once.
    const chunk = UNROUTED_DROPS_LIMIT / 10;
    for (let i = 0; i < UNROUTED_DROPS_LIMIT + chunk; i++) {
      const answer = createMessage({
        identifier: "berrymq-reply:r24r6-Z",
        args: [i],
        messageId: `r24r6-Z/answer-${i}`,
        hops: ["r24r6-X"],
        inReplyTo: `r24r6-Z/request-${i}`,
        to: "r24r6-Z",
      });
      bx[0].accept(toEnvelope(answer));
      if ((i + 1) % chunk === 0) await waitFor(() => by[0].stats.sent > i, "B-Y sending the answers on", 1_000);
    }
    assert.equal(kb[1].stats.dropped, 0, "B-K still failing on the answer");
    flooded();
    const error = await asked;
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(error.remoteName, "UnsendableMessageError");
    assert.equal(a.pendingRequests, 0);
    for (const link of [...ah, ...ak, ...kb, ...bx, ...by]) await link.close();
  });
  it("a carrier that closes with the answer still buffered counts as dropping it: the error answer goes", async () => {
    // As the first test, but J is unreachable: B-J holds the answer and closes with it undelivered.
    const [a, h, k, j, b] = buses("r24r7", "A", "H", "K", "J", "B");
    const { ah, bh, ak, kb } = bigAnswerThroughK(a, h, k, b);
    const aj = MemoryLink.pair({ bus: a }, { bus: j });
    const jb = MemoryLink.pair({ bus: j, exportFilters: ["other:*"] }, { bus: b, closeTimeout: 50 });
    await sleep(50);
    const asked = askBig(a, 2_000);
    await sleep(50);
    jb[1].reachable = false;
    for (const link of bh) await link.close();
    await waitFor(() => kb[1].failing > 0 && jb[1].backlog > 0, "B-K failing on the answer, B-J holding it");
    await jb[1].close();
    await jb[0].close();
    const error = await asked;
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(error.remoteName, "UnsendableMessageError");
    assert.equal(a.pendingRequests, 0);
    for (const link of [...ah, ...ak, ...kb, ...aj]) await link.close();
  });
});
