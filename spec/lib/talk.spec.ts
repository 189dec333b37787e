import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, kw, type Message } from "../../lib/index.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

describe("talk", () => {
  it("sends each follower's result on as a callback message and resolves to the results", async () => {
    const bus = new Bus();
    const results: Message[] = [];
    bus.follow("calc:add", (m) => (m.args as number[]).reduce((a, b) => a + b, 0));
    bus.follow("calc:*", (m) => `seen ${m.id} ${JSON.stringify(m.kwargs)}`);
    bus.follow("calc:add", () => undefined);
    bus.follow("calc:result", (m) => void results.push(m));
    const answered = await bus.talk("calc:add", "calc:result", 1, 2, 3, kw({ unit: "kg" }));
    assert.deepEqual(answered, [6, 'seen calc:add {"unit":"kg"}']);
    await waitFor(() => results.length === 2, "two calc:result messages");
    assert.deepEqual(
      results.map((m) => m.args),
      [[6], ['seen calc:add {"unit":"kg"}']],
    );
    assert.ok(results.every((m) => typeof m.inReplyTo === "string" && m.id === "calc:result"));
  });

  it("awaits async followers and leaves failed ones out (reporting them)", async () => {
    const bus = new Bus();
    const errors: string[] = [];
    bus.on("error", (e) => void errors.push(e.message));
    bus.follow("job:run", async () => {
      await sleep(20);
      return "slow";
    });
    bus.follow("job:run", async () => {
      throw new Error("failed job");
    });
    bus.follow("job:run", () => "fast");
    const replies: unknown[] = [];
    bus.follow("job:done", (m) => void replies.push(m.args[0]));
    const answered = await bus.talk("job:run", "job:done");
    assert.deepEqual(answered, ["slow", "fast"], "registration order, not completion order");
    await waitFor(() => replies.length === 2, "two job:done");
    assert.deepEqual(replies.sort(), ["fast", "slow"]);
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? "", /failed job/);
  });

  it("resolves to [] and sends nothing when no follower matches", async () => {
    const bus = new Bus();
    let callbacks = 0;
    bus.follow("nobody:answer", () => void callbacks++);
    assert.deepEqual(await bus.talk("nobody:listens", "nobody:answer"), []);
    await sleep(10);
    assert.equal(callbacks, 0);
  });

  it("callback messages are sent after the original dispatch, not nested in it", async () => {
    const bus = new Bus();
    const order: string[] = [];
    bus.follow("q:ask", () => {
      order.push("first follower");
      return 1;
    });
    bus.follow("q:ask", () => void order.push("second follower"));
    bus.follow("q:reply", () => void order.push("reply"));
    await bus.talk("q:ask", "q:reply");
    await sleep(0);
    assert.deepEqual(order, ["first follower", "second follower", "reply"]);
  });
});
