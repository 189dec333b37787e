// Thousands of random and mutated requests against a bridge server in a child process: every one gets a
// well-formed answer (never a crash, a hang or an HTTP 500), and the server still works afterwards.
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { after, before, describe, it } from "node:test";
import { BridgeErrorCode } from "../../../bridges/jsonrpc/index.js";
import { waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startPeer } from "./peer-process.js";
import { post } from "./raw-http.js";

const KNOWN_CODES = new Set(Object.values(BridgeErrorCode).filter((v) => typeof v === "number"));

// A small seeded generator, so a failure can be replayed.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const SEEDS = [
  { jsonrpc: "2.0", id: 1, method: "berrymq.twitter", params: { token: "T", identifier: "a:b", args: [1], kwargs: { k: 1 } } },
  {
    jsonrpc: "2.0",
    id: 2,
    method: "berrymq.send",
    params: { token: "T", envelope: { v: 1, id: "a:b", args: [], kwargs: {}, messageId: "m/1", timestamp: 1, hops: ["x"] } },
  },
  { jsonrpc: "2.0", id: 3, method: "berrymq.getNowait", params: { token: "T" } },
  { id: null, method: "send_message", params: ["T", "app:log", ["hello"], { level: 3 }] },
  { id: null, method: "connect_via_queue", params: ["task:*", 1000] },
  { id: null, method: "get", params: ["T", false, 0] },
];
const ODD_VALUES: unknown[] = [
  null,
  true,
  -1,
  1e308,
  "",
  "*:*",
  " :x",
  "__proto__",
  [],
  {},
  [[[]]],
  { __proto__: 1 },
  "\u0000",
  "x".repeat(300),
];

function mutate(value: unknown, rnd: () => number, depth = 0): unknown {
  if (depth > 4 || rnd() < 0.15) return ODD_VALUES[Math.floor(rnd() * ODD_VALUES.length)];
  if (Array.isArray(value)) {
    const copy = value.map((item) => (rnd() < 0.3 ? mutate(item, rnd, depth + 1) : item));
    if (rnd() < 0.1) copy.pop();
    return copy;
  }
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (rnd() < 0.08) continue;
      copy[rnd() < 0.05 ? "__proto__" : key] = rnd() < 0.3 ? mutate(item, rnd, depth + 1) : item;
    }
    return copy;
  }
  return value;
}

function fuzzBody(rnd: () => number, token: string): string {
  const kind = rnd();
  const seed = JSON.stringify(SEEDS[Math.floor(rnd() * SEEDS.length)]).replaceAll('"T"', JSON.stringify(token));
  if (kind < 0.15) {
    // Raw byte damage: truncation, a flipped character, random bytes.
    const at = Math.floor(rnd() * seed.length);
    return rnd() < 0.5
      ? seed.slice(0, at)
      : seed.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 256)) + seed.slice(at + 1);
  }
  const mutated = mutate(JSON.parse(seed), rnd);
  if (kind < 0.25) return JSON.stringify([mutated, mutate(JSON.parse(seed), rnd)]);
  return JSON.stringify(mutated);
}

function send(agent: Agent, url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error(`no answer within 5 s to ${body.slice(0, 200)}`)));
    req.on("error", reject);
    req.end(body);
  });
}

describe("fuzzing a bridge server", () => {
  let server: PeerProcess;
  before(async () => {
    server = await startPeer({ busId: "fuzzed", follow: "after:*" });
  });
  after(async () => {
    await server.stop();
  });

  it("answers 3,000 random and mutated requests correctly and keeps working", async () => {
    const rnd = random(20_260_123);
    const token = ((await post(server.url, { id: null, method: "connect_oneway", params: [1000] })).body as { result: string })
      .result;
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const failures: string[] = [];
    const seen = new Set<number | "ok">();
    const bodies = Array.from({ length: 3_000 }, () => fuzzBody(rnd, token));
    for (let i = 0; i < bodies.length; i += 16) {
      await Promise.all(
        bodies.slice(i, i + 16).map(async (body) => {
          const { status, text } = await send(agent, server.url, body);
          if (status === 204) return;
          if (status !== 200) return void failures.push(`HTTP ${status} for ${body.slice(0, 120)}`);
          const answer = JSON.parse(text) as unknown;
          for (const one of Array.isArray(answer) ? answer : [answer]) {
            const error = (one as { error?: { code?: unknown; message?: unknown } | null }).error;
            seen.add(error === undefined || error === null ? "ok" : (error.code as number));
            if (error === undefined || error === null) continue;
            if (!KNOWN_CODES.has(error.code as number) || typeof error.message !== "string")
              failures.push(`bad error ${JSON.stringify(error)} for ${body.slice(0, 120)}`);
            else if (error.code === BridgeErrorCode.InternalError)
              failures.push(`internal error ${error.message} for ${body.slice(0, 120)}`);
          }
        }),
      );
    }
    agent.destroy();
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} bad answers`);
    assert.equal(server.events.filter((e) => e.event === "closed").length, 0, "the server did not exit");
    // Still answers correctly afterwards.
    const sent = await post(server.url, { id: null, method: "send_message", params: [token, "after:fuzz", ["ok"], {}] });
    assert.deepEqual(sent.body, { id: null, result: "ok", error: null });
    await waitFor(() => server.messages("after:fuzz").length === 1, "after:fuzz delivered");
    assert.ok(seen.has("ok") && seen.size >= 5, `the fuzz reached successes and several error codes: ${[...seen].join(", ")}`);
    const hello = await post(server.url, { jsonrpc: "2.0", id: 9, method: "berrymq.hello" });
    assert.equal((hello.body as { result: { busId: string } }).result.busId, "fuzzed");
  });
});
