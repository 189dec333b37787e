// Red team (round 23), from the request/response red team's notes: an answer a link cannot carry, and
// follower results and thrown values that fight back. The asker must hear of each at once, typed, never
// wait out its timeout (for ever with `timeout: Infinity`), and delivery to other followers must go on.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { FollowerError, InvalidArgumentError, RemoteError } from "../../lib/index.js";
import { within } from "../../lib/request.js";
import type { Envelope } from "../../bridges/envelope.js";
import type { Message } from "../../lib/message.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep } from "../helpers/wait-for.js";

const outcome = (promise: Promise<unknown>): Promise<unknown> => promise.then((value) => value, (error: unknown) => error);

describe("red team r23: an answer its link cannot carry", () => {
  const closing: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close();
  });

  it("a BigInt answer across a PeerLink reaches the asker as a RemoteError naming why, at once", async () => {
    const asker = new Bus({ id: "ud-asker" });
    const answerer = new Bus({ id: "ud-answerer" });
    for (const bus of [asker, answerer]) bus.on("error", () => {});
    const servers: BridgeServer[] = [await serve({ bus: asker }), await serve({ bus: answerer })];
    const link = await PeerLink.connect((servers[1] as BridgeServer).url, { bus: asker, server: servers[0] as BridgeServer });
    closing.push(async () => {
      await link.close();
      for (const server of servers) await server.close();
      asker.close();
      answerer.close();
    });
    answerer.follow("calc:big", () => 2n ** 70n);
    answerer.follow("calc:fine", (m) => m.args[0]);
    assert.equal(await asker.ask("calc:fine", 7, within({ timeout: 5_000 })), 7, "the link works");
    const started = Date.now();
    const error = await outcome(asker.ask("calc:big", within({ timeout: Number.POSITIVE_INFINITY })));
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(error.remoteName, "UnsendableMessageError");
    assert.equal(error.bus, "ud-answerer");
    assert.match(error.message, /BigInt/);
    assert.ok(Date.now() - started < 3_000, `answered in ${Date.now() - started} ms`);
    assert.equal(asker.pendingRequests, 0);
    assert.equal(await asker.ask("calc:fine", 8, within({ timeout: 5_000 })), 8, "and the link goes on");
  });

  it("with several followers, the undeliverable answer is one RemoteError among the others' answers", async () => {
    const asker = new Bus({ id: "ud2-asker" });
    const answerer = new Bus({ id: "ud2-answerer" });
    answerer.on("error", () => {});
    const [link, back] = MemoryLink.pair({ bus: asker }, { bus: answerer });
    closing.push(async () => {
      await link.close();
      await back.close();
    });
    await sleep(10);
    answerer.follow("calc:mixed", () => 1);
    answerer.follow("calc:mixed", () => 10n);
    answerer.follow("calc:mixed", () => 3);
    const answers = await asker.request("calc:mixed", within({ count: 3, timeout: 5_000 }));
    // The error answer goes after the send that dropped the answer: last.
    assert.deepEqual(
      answers.map((a) => (a.ok ? a.value : (a.error as RemoteError).remoteName)),
      [1, 3, "UnsendableMessageError"],
    );
  });
});

// A link whose far side takes frames of at most `limit` characters (as a PeerLink server's body bound).
class BoundedLink extends MemoryLink {
  limit = Number.POSITIVE_INFINITY;
  protected override async transmit(batch: Envelope[]): Promise<void> {
    if (batch.some((envelope) => JSON.stringify(envelope).length > this.limit)) throw new Error("413: over the far side's limit");
    return super.transmit(batch);
  }
  protected override unwritable(message: Message): string | undefined {
    return JSON.stringify(message.args).length > this.limit ? "over the far side's limit" : undefined;
  }
}

describe("red team r23 (review): answers relayed, sent everywhere, or held up by a listener", () => {
  it("an answer a hub's link toward the asker cannot carry comes back as a RemoteError too", async () => {
    const [asker, hub, answerer] = [new Bus({ id: "rl-asker" }), new Bus({ id: "rl-hub" }), new Bus({ id: "rl-answerer" })];
    for (const bus of [asker, hub, answerer]) bus.on("error", () => {});
    answerer.follow("svc:big", () => "x".repeat(5_000));
    answerer.follow("svc:small", () => "ok");
    const links = [...BoundedLink.pair({ bus: asker }, { bus: hub }), ...BoundedLink.pair({ bus: hub }, { bus: answerer })];
    (links[1] as BoundedLink).limit = 2_000; // hub -> asker
    await sleep(50);
    assert.equal(await asker.ask("svc:small", within({ timeout: 2_000 })), "ok");
    const error = await outcome(asker.ask("svc:big", within({ timeout: Number.POSITIVE_INFINITY })));
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(error.remoteName, "UnsendableMessageError");
    assert.equal(error.bus, "rl-hub", "the bus that could not pass it on says so");
    for (const link of links) await link.close();
  });

  it("an answer sent over every link (its way back closed) is not also turned into an error by a dead end", async () => {
    const [a, h, k, b, d] = ["A", "H", "K", "B", "D"].map((id) => new Bus({ id: `bc-${id}` })) as [Bus, Bus, Bus, Bus, Bus];
    for (const bus of [a, h, k, b, d]) bus.on("error", () => {});
    b.follow("svc:slow", async () => {
      await sleep(300);
      return "value";
    });
    const ah = MemoryLink.pair({ bus: a }, { bus: h });
    const bh = MemoryLink.pair({ bus: b }, { bus: h });
    await sleep(50); // the request reaches B through H first
    const ak = MemoryLink.pair({ bus: a }, { bus: k });
    const bk = MemoryLink.pair({ bus: b }, { bus: k });
    const bd = MemoryLink.pair({ bus: b, bufferSize: 2 }, { bus: d });
    await sleep(100);
    bd[0].reachable = false; // B -> D is down: its buffer fills
    for (let i = 0; i < 5; i++) b.twitter("fill:x", i);
    await sleep(20);
    const answers = a.request("svc:slow", within({ count: "all", timeout: 1_000 }));
    await sleep(100);
    for (const link of bh) await link.close(); // the request's way back closes before B answers
    const got = await answers;
    assert.deepEqual(
      got.map((answer) => (answer.ok ? `ok ${String(answer.value)}` : `error ${(answer.error as RemoteError).remoteName}`)),
      ["ok value"],
    );
    for (const link of [...ah, ...ak, ...bk, ...bd]) await link.close();
  });

  it("a message listener throwing on an answer does not keep it from the links registered after it", async () => {
    const asker = new Bus({ id: "tl-asker" });
    const answerer = new Bus({ id: "tl-answerer" });
    const reported: unknown[] = [];
    answerer.on("error", (error) => void reported.push(error));
    answerer.on("message", (m) => {
      if (m.inReplyTo !== undefined) throw new Error("audit listener failed");
    });
    answerer.follow("svc:x", () => 42);
    const links = MemoryLink.pair({ bus: asker }, { bus: answerer });
    await sleep(50);
    assert.equal(await asker.ask("svc:x", within({ timeout: 2_000 })), 42);
    assert.equal(reported.length, 1);
    assert.ok(reported[0] instanceof FollowerError);
    for (const link of links) await link.close();
  });
});

describe("red team r23: follower results and thrown values that fight back", () => {
  it("a result whose `then` getter throws is that follower's failure: the others still run, the asker gets a RemoteError", async () => {
    const bus = new Bus({ id: "then-getter" });
    const reports: unknown[] = [];
    bus.on("error", (error) => void reports.push(error));
    const ran: string[] = [];
    bus.follow("svc:x", () => {
      ran.push("first");
      // biome-ignore lint/suspicious/noThenProperty: a result whose `then` throws is the attack
      return Object.defineProperty({}, "then", {
        get() {
          throw new Error("then getter");
        },
      });
    });
    bus.follow("svc:x", () => {
      ran.push("second");
      return "two";
    });
    assert.equal(bus.twitter("svc:x"), 2);
    assert.deepEqual(ran, ["first", "second"]);
    const answers = await bus.request("svc:x", within({ count: 2, timeout: 2_000 }));
    assert.equal(answers.length, 2);
    const [failed, two] = answers;
    assert.ok(failed !== undefined && !failed.ok);
    assert.match((failed.error as RemoteError).message, /then getter/);
    assert.equal(two?.ok && two.value, "two");
    assert.ok(reports.some((error) => error instanceof FollowerError));
  });

  it("a guard that throws a Proxy is reported, and delivery goes on", () => {
    const bus = new Bus({ id: "proxy-guard" });
    const reports: FollowerError[] = [];
    bus.on("error", (error) => void reports.push(error as FollowerError));
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error("trap");
        },
        get() {
          throw new Error("trap");
        },
      },
    );
    const got: string[] = [];
    bus.follow("svc:y", () => void got.push("guarded"), {
      guard: () => {
        throw hostile;
      },
    });
    bus.follow("svc:y", () => void got.push("plain"));
    assert.equal(bus.twitter("svc:y"), 1);
    assert.deepEqual(got, ["plain"]);
    assert.equal(reports.length, 1);
    assert.match(reports[0]?.message ?? "", /guard/);
  });

  it("twitter() refuses a within(): nothing waits for answers there, and it went to followers as an argument", () => {
    const bus = new Bus({ id: "twitter-within" });
    const got: unknown[] = [];
    bus.follow("svc:z", (m) => void got.push(m.args));
    assert.throws(() => bus.twitter("svc:z", 1, within({ timeout: 100 })), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.match(error.message, /within\(\)/);
      return true;
    });
    assert.throws(() => bus.twitter("svc:z", within({ timeout: 100 }), 2), InvalidArgumentError, "not last either");
    assert.throws(() => bus.twitter("svc:z", 1, within({ timeout: 100 }), 2), InvalidArgumentError);
    assert.deepEqual(got, []);
  });
});
