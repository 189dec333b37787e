import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  Bus,
  expose,
  kw,
  type Message,
  RemoteError,
  RequestAbortedError,
  RequestOverflowError,
  RequestTimeoutError,
  stub,
  within,
} from "../../lib/index.js";
import { sleep } from "../helpers/wait-for.js";

describe("request/response on one bus", () => {
  it("ask() resolves to the first answer; request() lists answers with the answering bus", async () => {
    const bus = new Bus({ id: "solo" });
    bus.follow("calc:add", (m) => (m.args as number[]).reduce((a, b) => a + b, 0) + Number(m.kwargs.extra ?? 0));
    assert.equal(await bus.ask<number>("calc:add", 1, 2, kw({ extra: 10 })), 13);
    const answers = await bus.request("calc:add", 4, 5);
    assert.deepEqual(
      answers.map((a) => (a.ok ? a.value : a.error)),
      [9],
    );
    assert.equal(answers[0]?.bus, "solo");
    assert.equal(bus.pendingRequests, 0);
  });

  it("a follower that throws answers with a typed RemoteError, and does not hide the others' answers", async () => {
    const bus = new Bus({ id: "errs" });
    bus.on("error", () => {});
    bus.follow("job:run", () => {
      throw new TypeError("bad job");
    });
    bus.follow("job:run", async () => {
      await sleep(5);
      return "done";
    });
    const answers = await bus.request("job:run", within({ count: 2 }));
    assert.equal(answers.length, 2);
    const failed = answers.find((a) => !a.ok);
    assert.ok(failed !== undefined && !failed.ok);
    assert.ok(failed.error instanceof RemoteError);
    assert.equal(failed.error.remoteName, "TypeError");
    assert.equal(failed.error.bus, "errs");
    assert.match(failed.error.message, /bad job/);
    assert.deepEqual(
      answers.filter((a) => a.ok).map((a) => a.ok && a.value),
      ["done"],
    );
    await assert.rejects(bus.ask("job:run"), (e: unknown) => e instanceof RemoteError && e.code === "REMOTE_ERROR");
  });

  it("a timeout rejects with RequestTimeoutError carrying the answers received so far", async () => {
    const bus = new Bus();
    bus.follow("slow:x", () => "quick");
    bus.follow("slow:x", () => sleep(1_000).then(() => "never"));
    const started = Date.now();
    const error = await bus.request("slow:x", within({ count: 2, timeout: 100 })).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof RequestTimeoutError, String(error));
    assert.deepEqual(
      error.answers.map((a) => a.ok && a.value),
      ["quick"],
    );
    assert.ok(Date.now() - started < 5_000);
    bus.close();
  });

  it('count "all" resolves at the timeout with every answer; no follower gives []', async () => {
    const bus = new Bus();
    bus.follow("all:x", () => 1);
    bus.follow("all:*", () => 2);
    assert.deepEqual(
      (await bus.request("all:x", within({ count: "all", timeout: 50 }))).map((a) => a.ok && a.value),
      [1, 2],
    );
    assert.deepEqual(await bus.request("nobody:x", within({ count: "all", timeout: 20 })), []);
  });

  it("an AbortSignal cancels a request with RequestAbortedError", async () => {
    const bus = new Bus();
    bus.follow("wait:x", () => sleep(1_000).then(() => 1));
    const controller = new AbortController();
    const pending = bus.request("wait:x", within({ signal: controller.signal }));
    controller.abort(new Error("user left"));
    await assert.rejects(pending, RequestAbortedError);
    await assert.rejects(bus.request("wait:x", within({ signal: AbortSignal.abort() })), RequestAbortedError);
    assert.equal(bus.pendingRequests, 0);
    bus.close();
  });

  it("refuses bad options naming the value, and bounds pending requests", async () => {
    const bus = new Bus({ maxPendingRequests: 1 });
    await assert.rejects(bus.request("a:b", within({ timeout: Number.NaN })), /invalid timeout NaN/);
    await assert.rejects(bus.request("a:b", within({ count: 0 })), /invalid count 0/);
    await assert.rejects(bus.ask("a:b", within({ count: 2 })), /invalid count 2/);
    await assert.rejects(bus.request("a:b", within({ count: "all", timeout: Number.POSITIVE_INFINITY })), /Infinity/);
    const first = bus.request("a:b", within({ timeout: Number.POSITIVE_INFINITY }));
    await assert.rejects(bus.request("a:b"), RequestOverflowError);
    bus.close();
    await assert.rejects(first, /closed/);
  });

  // A within() kept and reused is checked once while its options stay the same (a stub keeps one): a
  // change to them must still be seen, a bad one refused, and the same marker serve request, ask and talk.
  it("a within() reused sees its options change: checked again, bad values refused, each method its own default count", async () => {
    const bus = new Bus();
    bus.follow("svc:slow", async () => {
      await sleep(60);
      return "late";
    });
    bus.follow("svc:echo", (m) => m.args);
    const options: { timeout?: number; count?: number | "all"; signal?: AbortSignal } = { timeout: 1_000 };
    const marker = within(options);
    assert.equal(await bus.ask("svc:slow", marker), "late");
    options.timeout = 10;
    await assert.rejects(bus.ask("svc:slow", marker), RequestTimeoutError);
    options.timeout = Number.NaN;
    await assert.rejects(bus.ask("svc:slow", marker), /invalid timeout NaN/);
    options.timeout = 200;
    assert.deepEqual(await bus.ask("svc:echo", 1, kw({ a: 1 }), marker), [1]);
    assert.equal((await bus.request("svc:echo", 2, marker)).length, 1);
    bus.follow("svc:echo", (m) => m.args.length);
    assert.deepEqual(await bus.ask("svc:echo", 3, marker), [3]);
    assert.deepEqual(await bus.talk("svc:echo", "svc:echoed", 3, marker), [[3], 1], "talk: every answer within the timeout");
    options.count = 2;
    await assert.rejects(bus.ask("svc:echo", marker), /invalid count 2/);
    const controller = new AbortController();
    options.count = 1;
    options.signal = controller.signal;
    controller.abort();
    await assert.rejects(bus.ask("svc:echo", marker), RequestAbortedError);
    await assert.rejects(bus.ask("svc:echo", kw({ a: 1 }), 2, marker), /kw\(\) only as the last argument/);
  });

  it("talk() keeps its meaning, and with within() collects every answer", async () => {
    const bus = new Bus();
    const callbacks: Message[] = [];
    bus.follow("calc:mul", (m) => (m.args as number[]).reduce((a, b) => a * b, 1));
    bus.follow("calc:product", (m) => void callbacks.push(m));
    assert.deepEqual(await bus.talk("calc:mul", "calc:product", 2, 3), [6]);
    assert.deepEqual(await bus.talk("calc:mul", "calc:product", 2, 5, within({ timeout: 50 })), [10]);
    assert.deepEqual(
      callbacks.map((m) => m.args[0]),
      [6, 10],
    );
  });

  it("followers never see the answers of request() (reserved berrymq-reply identifiers)", async () => {
    const bus = new Bus();
    const seen: string[] = [];
    bus.follow("*:*", (m) => void seen.push(m.id));
    bus.follow("svc:x", () => "ok");
    await bus.ask("svc:x");
    assert.deepEqual(seen, ["svc:x"]);
  });

  it("expose() and a typed stub()", async () => {
    const bus = new Bus();
    const stop = expose("calc:add", (a: number, b: number) => a + b, { bus });
    const add = stub<[number, number], number>("calc:add", { bus, timeout: 1_000 });
    assert.equal(await add(2, 3), 5);
    stop();
    await assert.rejects(stub<[], number>("calc:add", { bus, timeout: 30 })(), RequestTimeoutError);
  });
});
