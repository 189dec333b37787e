// Red team r23: a follower may throw or reject with anything. Reading a null-prototype object, an Error
// whose `message` is no string, a throwing getter or a Proxy threw inside the bus while it built the error
// answer: the asker got a TypeError instead of a RemoteError (sync), or no answer and an unhandled
// rejection (async), which ends a Node process. A request whose sending threw was left waiting and
// rejected again, unhandled, at its timeout; a `message` listener throwing on one answer lost every
// answer sent in the same tick after it (and ended the process: an unhandled rejection); it is reported.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Answer, Bus, FollowerError, RemoteError, within } from "../../lib/index.js";

// Every unhandled rejection while `run` goes on (and a moment after): each one would end a plain Node process.
async function unhandledDuring(run: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  process.on("unhandledRejection", listener);
  try {
    await run();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off("unhandledRejection", listener);
  }
  return seen;
}

function hostileError(kind: string): unknown {
  switch (kind) {
    case "null prototype":
      return Object.create(null);
    case "object message": {
      const error = new RangeError("x");
      (error as { message: unknown }).message = { why: "an object" };
      return error;
    }
    case "throwing name getter": {
      const error = new Error("named badly");
      Object.defineProperty(error, "name", {
        get() {
          throw new Error("name getter");
        },
      });
      return error;
    }
    case "name that is no string": {
      const error = new Error("odd name");
      (error as { name: unknown }).name = { not: "a string" };
      return error;
    }
    case "throwing toString":
      return {
        toString() {
          throw new Error("toString");
        },
      };
    default:
      return new Proxy(new Error("proxied"), {
        get() {
          throw new Error("get trap");
        },
        getPrototypeOf() {
          throw new Error("getPrototypeOf trap");
        },
      });
  }
}

const KINDS: readonly [string, string, string][] = [
  // kind, remoteName, what the RemoteError's message ends with
  ["null prototype", "Error", ": {}"],
  ["object message", "RangeError", ': {"why":"an object"}'],
  ["throwing name getter", "Error", ": named badly"],
  ["name that is no string", "Error", ": odd name"],
  ["throwing toString", "Error", ": {}"],
  ["Proxy", "Error", ": (a thrown value that could not be read)"],
];

describe("red team r23: followers that throw or reject hostile values", () => {
  for (const [kind, remoteName, ending] of KINDS) {
    it(`${kind}: thrown or rejected, each asker gets a RemoteError, the others' answers too, nothing unhandled`, async () => {
      const bus = new Bus({ id: "r23-thrown" });
      const reported: unknown[] = [];
      bus.on("error", (error) => reported.push(error));
      bus.follow("bad:sync", () => {
        throw hostileError(kind);
      });
      bus.follow("bad:async", () => Promise.reject(hostileError(kind)));
      for (const id of ["bad:sync", "bad:async"]) bus.follow(id, () => "fine");
      // Asked alone, so the failure is the first answer.
      bus.follow("alone:sync", () => {
        throw hostileError(kind);
      });
      bus.follow("alone:async", () => Promise.reject(hostileError(kind)));
      let answers: Answer[][] = [];
      let asked: unknown[] = [];
      const unhandled = await unhandledDuring(async () => {
        answers = await Promise.all(["bad:sync", "bad:async"].map((id) => bus.request(id, within({ count: 2, timeout: 2_000 }))));
        asked = await Promise.all(["alone:sync", "alone:async"].map((id) => bus.ask(id, within({ timeout: 2_000 })).catch((e: unknown) => e)));
      });
      assert.deepEqual(unhandled, []);
      for (const pair of answers) {
        const failed = pair.find((a) => !a.ok);
        assert.ok(failed !== undefined && !failed.ok, JSON.stringify(pair));
        assert.equal(failed.error.remoteName, remoteName);
        assert.ok(failed.error.message.endsWith(ending), failed.error.message);
        assert.deepEqual(
          pair.filter((a) => a.ok).map((a) => a.ok && a.value),
          ["fine"],
        );
      }
      for (const error of asked) assert.ok(error instanceof RemoteError && error.remoteName === remoteName, String(error));
      assert.equal(reported.length, 4, "each failure is reported on the answering bus");
      assert.equal(bus.pendingRequests, 0);
      bus.close();
    });
  }

  it("a `message` listener throwing on one answer loses none of the answers sent with it", async () => {
    const bus = new Bus();
    bus.follow("echo:x", (m) => m.args[0]);
    const broken = new Error("listener broke on answer 0");
    let thrown = 0;
    bus.on("message", (m) => {
      if (m.inReplyTo !== undefined && m.args[0] === 0 && thrown++ === 0) throw broken;
    });
    const reported: unknown[] = [];
    bus.on("error", (error) => reported.push(error));
    let answers: unknown[] = [];
    const unhandled = await unhandledDuring(async () => {
      // Answered in one tick: their answers go out together.
      answers = await Promise.all(Array.from({ length: 100 }, (_, i) => bus.ask("echo:x", i, within({ timeout: 500 })).catch((e: unknown) => e)));
    });
    assert.deepEqual(
      answers,
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.deepEqual(unhandled, []);
    assert.equal(reported.length, 1);
    assert.ok(reported[0] instanceof FollowerError && reported[0].cause === broken, String(reported[0]));
    bus.close();
  });

  it("a `message` listener that throws: the request rejects with its error once, and does not wait on", async () => {
    const bus = new Bus();
    const broken = new Error("listener broke");
    bus.on("message", () => {
      throw broken;
    });
    const unhandled = await unhandledDuring(async () => {
      await assert.rejects(bus.ask("x:y", within({ timeout: 20 })), (e) => e === broken);
      await assert.rejects(bus.request("x:y", within({ timeout: 20 })), (e) => e === broken);
      assert.equal(bus.pendingRequests, 0);
      await new Promise((resolve) => setTimeout(resolve, 60)); // past the timeouts
    });
    assert.deepEqual(unhandled, []);
    bus.close();
  });
});
