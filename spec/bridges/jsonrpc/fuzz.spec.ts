// More than 100,000 generated cases against a bridge server in a child process, over both wire forms,
// batches, headers and bodies (nesting to 100,000 levels, huge numbers and strings, __proto__ /
// constructor / prototype at every depth, chunked and pipelined bodies). Every case must get a
// well-formed answer with the right code (never a crash, a hang, an HTTP 500 or -32603), and the server
// must still work afterwards. Seeded, so a failure can be replayed.
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { BridgeErrorCode } from "../../../bridges/jsonrpc/index.js";
import { waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startPeer } from "./peer-process.js";
import { post } from "./raw-http.js";

const KNOWN_CODES = new Set(Object.values(BridgeErrorCode).filter((v) => typeof v === "number"));
const BATCHES = 1_800;
const BATCH_SIZE = 50;
const SINGLES = 10_000;
const PIPELINES = 200;
const PIPELINE_DEPTH = 10;
const MAX_BODY = 1024 * 1024;

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

// Placeholders replaced in the JSON text by what JSON.stringify cannot write: own __proto__ keys and
// number literals that are not exact doubles.
const RAW: Record<string, string> = {
  '"@proto@"': '"__proto__"',
  '"@nan@"': "NaN",
  '"@inf@"': "-Infinity",
  '"@big@"': "123456789012345678901234567890",
  '"@over@"': "1e999",
};

const SEEDS = [
  { jsonrpc: "2.0", id: 1, method: "berrymq.twitter", params: { token: "T", identifier: "a:b", args: [1], kwargs: { k: 1 } } },
  {
    jsonrpc: "2.0",
    id: 2,
    method: "berrymq.send",
    params: { token: "T", envelope: { v: 1, id: "a:b", args: [], kwargs: {}, messageId: "m/1", timestamp: 1, hops: ["x"] } },
  },
  { jsonrpc: "2.0", id: 3, method: "berrymq.getNowait", params: { token: "T" } },
  { jsonrpc: "2.0", id: 4, method: "berrymq.ping", params: { token: "T" } },
  { jsonrpc: "2.0", id: 5, method: "berrymq.hello" },
  { id: null, method: "send_message", params: ["T", "app:log", ["hello"], { level: 3 }] },
  { id: 7, method: "connect_oneway", params: [30] },
  { id: null, method: "get", params: ["T", false, 0] },
  { id: null, method: "get_nowait", params: ["T"] },
];

function oddValue(rnd: () => number): unknown {
  const pick = Math.floor(rnd() * 24);
  switch (pick) {
    case 0:
      return "@proto@";
    case 1:
      return { "@proto@": { polluted: true } };
    case 2:
      return { constructor: { prototype: { polluted: true } } };
    case 3:
      return { constructor: "Foo", prototype: [1] };
    case 4:
      return "@nan@";
    case 5:
      return "@big@";
    case 6:
      return "@over@";
    case 7:
      return "@inf@";
    case 8:
      return 1e308;
    case 9:
      return -0;
    case 10:
      return "x".repeat(Math.floor(rnd() * 3_000));
    case 11:
      return JSON.parse(`${"[".repeat(70)}${"]".repeat(70)}`);
    case 12:
      return [[[]]];
    default:
      return [null, true, -1, "", "*:*", " :x", "__proto__", [], {}, "\u0000", "a".repeat(1_100), 2 ** 53][pick - 13];
  }
}

function mutate(value: unknown, rnd: () => number, depth = 0): unknown {
  if (depth > 5 || rnd() < 0.12) return oddValue(rnd);
  if (Array.isArray(value)) {
    const copy = value.map((item) => (rnd() < 0.3 ? mutate(item, rnd, depth + 1) : item));
    if (rnd() < 0.1) copy.pop();
    if (rnd() < 0.1) copy.push(oddValue(rnd));
    return copy;
  }
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (rnd() < 0.06) continue;
      const name = rnd() < 0.04 ? "@proto@" : rnd() < 0.04 ? "constructor" : key;
      copy[name] = rnd() < 0.3 ? mutate(item, rnd, depth + 1) : item;
    }
    if (rnd() < 0.05) copy.prototype = oddValue(rnd);
    return copy;
  }
  return value;
}

function toText(value: unknown, token: string): string {
  let text = JSON.stringify(value).replaceAll('"T"', JSON.stringify(token));
  for (const [placeholder, raw] of Object.entries(RAW)) text = text.replaceAll(placeholder, raw);
  return text;
}

function seedOf(rnd: () => number, legacy?: boolean): unknown {
  const pool = legacy === undefined ? SEEDS : SEEDS.filter((s) => ("jsonrpc" in s) !== legacy);
  return structuredClone(pool[Math.floor(rnd() * pool.length)]);
}

/** One generated request: its body and headers, and what its answer must be. */
interface Case {
  body: string;
  headers: Record<string, string>;
  /** The HTTP status it must get (200 unless the headers or size say otherwise; 204 allowed for notifications). */
  status: number;
  /** The one error code the answer must carry, when the case was built to provoke it. */
  code?: number;
  chunked: boolean;
}

function singleCase(rnd: () => number, token: string): Case {
  const kind = rnd();
  const base: Case = { body: "", headers: { "content-type": "application/json" }, status: 200, chunked: rnd() < 0.1 };
  if (kind < 0.4) return { ...base, body: toText(mutate(seedOf(rnd, true), rnd), token) };
  if (kind < 0.7) return { ...base, body: toText(mutate(seedOf(rnd, false), rnd), token) };
  if (kind < 0.8) {
    // Byte damage: truncated (always a parse error) or a flipped character.
    const text = toText(seedOf(rnd), token);
    const at = 1 + Math.floor(rnd() * (text.length - 2));
    if (rnd() < 0.5) return { ...base, body: text.slice(0, at), code: BridgeErrorCode.ParseError };
    return { ...base, body: text.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 256)) + text.slice(at + 1) };
  }
  if (kind < 0.85) {
    const [literal, code] = [
      ["NaN", BridgeErrorCode.ParseError],
      ["Infinity", BridgeErrorCode.ParseError],
      ["1e400", BridgeErrorCode.InexactNumber],
      ["9007199254740993", BridgeErrorCode.InexactNumber],
      ["-123456789012345678901", BridgeErrorCode.InexactNumber],
    ][Math.floor(rnd() * 5)] as [string, number];
    const legacy = rnd() < 0.5;
    const body = legacy
      ? `{"id": null, "method": "send_message", "params": [${JSON.stringify(token)}, "n:x", [${literal}], {}]}`
      : `{"jsonrpc": "2.0", "id": 1, "method": "berrymq.twitter", "params": {"token": ${JSON.stringify(token)}, "identifier": "n:x", "args": [${literal}]}}`;
    return { ...base, body, code };
  }
  if (kind < 0.86) {
    // Nesting to 100,000 levels, in the body, an id, a token or args.
    const depth = 1 + Math.floor(rnd() * 100_000);
    const deep = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const where = Math.floor(rnd() * 4);
    const body = [
      deep,
      `{"id": ${deep}, "method": "connect_oneway", "params": [5]}`,
      `{"id": null, "method": "send_message", "params": [${deep}, "a:b", [], {}]}`,
      `{"id": null, "method": "send_message", "params": [${JSON.stringify(token)}, "a:b", ${deep}, {}]}`,
    ][where] as string;
    return { ...base, body };
  }
  if (kind < 0.96) {
    // Headers a web page (or a rebinding DNS name) would bring: refused before the body is read.
    const body = toText(seedOf(rnd), token);
    const bad = [
      { status: 403, headers: { "content-type": "application/json", origin: "https://evil.example" } },
      { status: 415, headers: { "content-type": "text/plain" } },
      { status: 415, headers: { "content-type": "application/x-www-form-urlencoded" } },
      { status: 415, headers: { "content-type": "multipart/form-data; boundary=z" } },
      { status: 403, headers: { "content-type": "application/json", host: "rebind.evil.example:7200" } },
      { status: 200, headers: { "content-type": "text/xml" } },
      { status: 200, headers: { "content-type": "application/json; charset=utf-8" } },
    ][Math.floor(rnd() * 7)] as { status: number; headers: Record<string, string> };
    return { ...base, body, headers: bad.headers, status: bad.status, code: bad.status === 200 ? undefined : BridgeErrorCode.Forbidden } as Case;
  }
  // Huge strings: below the body limit (answered) or above it (413).
  const size = rnd() < 0.5 ? 200_000 + Math.floor(rnd() * 600_000) : MAX_BODY + 1 + Math.floor(rnd() * 100_000);
  const body = `{"id": null, "method": "send_message", "params": [${JSON.stringify(token)}, "big:s", ["${"s".repeat(size)}"], {}]}`;
  return size > MAX_BODY ? { ...base, body, status: 413, code: BridgeErrorCode.PayloadTooLarge } : { ...base, body };
}

function send(agent: Agent, url: string, test: Case): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: test.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer within 20 s to ${test.body.slice(0, 200)}`)));
    req.on("error", (error) => {
      // A server may close a connection after refusing a too-large body: that is an answer too.
      if (test.status === 413) resolve({ status: 413, text: "" });
      else reject(error);
    });
    if (test.chunked && test.body.length > 2) {
      const third = Math.floor(test.body.length / 3);
      req.write(test.body.slice(0, third));
      setImmediate(() => {
        req.write(test.body.slice(third, 2 * third));
        req.end(test.body.slice(2 * third));
      });
    } else req.end(test.body);
  });
}

/** Checks one answer; returns the problem, or undefined. */
function verdict(test: Case, status: number, text: string, seen: Set<number | "ok">): string | undefined {
  const shown = test.body.slice(0, 120);
  if (status === 204 && test.status === 200) return test.code === undefined ? undefined : `204 for ${shown}`;
  if (status !== test.status) return `HTTP ${status} (expected ${test.status}) for ${shown}: ${text.slice(0, 200)}`;
  if (text === "") return test.status === 413 ? undefined : `empty answer for ${shown}`;
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return `answer not JSON for ${shown}`;
  }
  const answers = Array.isArray(answer) ? answer : [answer];
  for (const one of answers) {
    const error = (one as { error?: { code?: unknown; message?: unknown } | null }).error;
    if (error === undefined || error === null) {
      seen.add("ok");
      if (test.code !== undefined) return `success where ${test.code} was due for ${shown}`;
      continue;
    }
    seen.add(error.code as number);
    if (!KNOWN_CODES.has(error.code as number) || typeof error.message !== "string") return `bad error ${text.slice(0, 200)} for ${shown}`;
    if (error.code === BridgeErrorCode.InternalError) return `internal error ${String(error.message)} for ${shown}`;
    if (test.code !== undefined && error.code !== test.code) return `code ${String(error.code)} (expected ${test.code}) for ${shown}`;
  }
  return undefined;
}

// How many complete HTTP answers `text` holds (each with a Content-Length, or none for 204).
function completeAnswers(text: string): { count: number; statuses: number[] } {
  const statuses: number[] = [];
  let at = 0;
  for (;;) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    const head = text.slice(at, end);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    if (Buffer.byteLength(text.slice(end + 4)) < length) break;
    statuses.push(Number(head.slice(9, 12)));
    // Answers are ASCII-safe JSON here, so characters and bytes agree.
    at = end + 4 + length;
  }
  return { count: statuses.length, statuses };
}

async function pipeline(url: string, bodies: string[]): Promise<string> {
  const { port } = new URL(url);
  const wire = bodies
    .map((body) => `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
    .join("");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`pipeline of ${bodies.length}: only ${completeAnswers(text).count} answers in 20 s`));
    }, 20_000);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (completeAnswers(text).count >= bodies.length) {
        clearTimeout(timer);
        socket.end();
        resolve(text);
      }
    });
    socket.on("error", reject);
    socket.write(wire);
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

  it(`answers ${BATCHES * BATCH_SIZE + SINGLES + PIPELINES * PIPELINE_DEPTH} generated cases correctly and keeps working`, async () => {
    const rnd = random(20_261_124);
    const token = ((await post(server.url, { id: null, method: "connect_oneway", params: [1000] })).body as { result: string })
      .result;
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const failures: string[] = [];
    const seen = new Set<number | "ok">();
    let cases = 0;
    const run = async (tests: Case[], width: number): Promise<void> => {
      for (let i = 0; i < tests.length; i += width) {
        await Promise.all(
          tests.slice(i, i + width).map(async (test) => {
            const { status, text } = await send(agent, server.url, test);
            const problem = verdict(test, status, text, seen);
            if (problem !== undefined) failures.push(problem);
          }),
        );
      }
    };
    // Batches: 50 mutated JSON-RPC 2.0 entries each, every entry a case.
    const batches: Case[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const entries = Array.from({ length: BATCH_SIZE }, () => toText(mutate(seedOf(rnd, false), rnd), token));
      batches.push({ body: `[${entries.join(",")}]`, headers: { "content-type": "application/json" }, status: 200, chunked: rnd() < 0.1 });
      cases += BATCH_SIZE;
    }
    await run(batches, 8);
    // Single requests of every kind.
    const singles = Array.from({ length: SINGLES }, () => singleCase(rnd, token));
    cases += singles.length;
    await run(singles, 16);
    // Pipelined: several requests written at once on one socket, each answered in turn.
    for (let p = 0; p < PIPELINES; p++) {
      const bodies = Array.from({ length: PIPELINE_DEPTH }, () => toText(mutate(seedOf(rnd), rnd), token));
      const text = await pipeline(server.url, bodies);
      const { statuses } = completeAnswers(text);
      if (statuses.some((status) => status !== 200 && status !== 204) || text.includes("-32603"))
        failures.push(`pipeline answers ${statuses.join(", ")}: ${text.slice(0, 300)}`);
      cases += PIPELINE_DEPTH;
    }
    agent.destroy();
    assert.ok(cases >= 100_000, `${cases} cases`);
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} bad answers`);
    assert.equal(server.events.filter((e) => e.event === "closed").length, 0, "the server did not exit");
    // Still answers correctly afterwards.
    const sent = await post(server.url, { id: null, method: "send_message", params: [token, "after:fuzz", ["ok"], {}] });
    assert.deepEqual(sent.body, { id: null, result: "ok", error: null });
    await waitFor(() => server.messages("after:fuzz").length === 1, "after:fuzz delivered");
    assert.ok(seen.has("ok") && seen.size >= 8, `the fuzz reached successes and many error codes: ${[...seen].join(", ")}`);
    const hello = await post(server.url, { jsonrpc: "2.0", id: 9, method: "berrymq.hello" });
    assert.equal((hello.body as { result: { busId: string } }).result.busId, "fuzzed");
  });
});
