// Red team r30: seeded JSON-RPC 2.0 conformance fuzz against a live server. Bodies are batches (and single
// requests) of entries drawn from valid requests, notifications and broken ones: every method (known,
// unknown, berryMQ 0.3 names, `constructor`), params as objects, arrays and junk (`__proto__`, huge and
// non-JSON numbers, deep arrays), ids of every type, shuffled members. Each answer must be what JSON-RPC
// 2.0 says: one answer per request with its id, an invalid entry answered with id null, no answer for a
// well-formed notification (a batch of only those: HTTP 204, no body), known codes only, never −32603; and
// the server answers a normal call afterwards. Found: a notification whose params held `__proto__` was
// answered (−32602).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BridgeErrorCode, type BridgeServer, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { random } from "../../helpers/seeded-random.js";
import { post } from "./raw-http.js";

const SEEDS = [30, 3_001, 300_007];
const BODIES = 1_500;
const KNOWN_CODES = new Set(Object.values(BridgeErrorCode).filter((value) => typeof value === "number"));
const METHODS = [
  "berrymq.hello",
  "berrymq.ping",
  "berrymq.twitter",
  "berrymq.send",
  "berrymq.sendAll",
  "berrymq.getNowait",
  "berrymq.get",
  "berrymq.connect",
  "berrymq.close",
  "nope",
  "get",
  "send_message",
  "constructor",
  "__proto__",
  "",
];
const ODD = [
  "1",
  '"s"',
  "null",
  "true",
  "[]",
  "{}",
  '{"__proto__":{"x":1}}',
  '{"constructor":{"prototype":{}}}',
  "-0",
  "1.5",
  `"${"x".repeat(50)}"`,
  "[[[[[[[[[[]]]]]]]]]]",
];
// Literals the whole body is refused for (−32700 / −32011), before any entry is looked at.
const REFUSED = ["NaN", "1e999", "123456789012345678901234"];

/** One entry of a body, and the id its answer must carry (undefined: no answer). */
interface Entry {
  text: string;
  answer: { id: string | number | null } | undefined;
}

function generator(seed: number, tokens: string[]) {
  const rnd = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const odd = (): string => (rnd() < 0.03 ? pick(REFUSED) : pick(ODD));
  const params = (method: string): string => {
    // A get that waits for ever would hold the body: it always has a timeout (perhaps a wrong one).
    if (rnd() < 0.1 && method !== "berrymq.get") return odd();
    const fields = [`"token":${pick([...tokens.map((token) => `"${token}"`), '"bad"', odd()])}`];
    if (rnd() < 0.5) fields.push(`"identifier":${pick(['"fz:a"', '"own:b"', '""', '"a:*"', odd()])}`);
    if (rnd() < 0.5) fields.push(`"args":${pick(['[1,"x"]', "[]", odd()])}`);
    if (rnd() < 0.3) fields.push(`"kwargs":${pick(['{"k":1}', "{}", odd()])}`);
    if (method === "berrymq.get" || rnd() < 0.3) fields.push(`"timeout":${pick(["0", "1", "-1", odd()])}`);
    if (rnd() < 0.3) {
      const envelope = `{"v":1,"id":"fz:e","args":[],"kwargs":{},"messageId":"fz/${Math.floor(rnd() * 1e9)}","timestamp":0,"hops":["fz"]}`;
      fields.push(`"envelope":${pick([envelope, odd()])}`);
    }
    if (rnd() < 0.2) fields.push(`"envelopes":${pick(["[]", "[1,2]", odd()])}`);
    if (rnd() < 0.2) fields.push(`"style":${pick(['"oneway"', '"queue"', odd()])}`, `"ttl":${pick(["1", "null", odd()])}`);
    if (rnd() < 0.1) fields.push('"__proto__":{"p":1}');
    if (method !== "berrymq.get" && rnd() < 0.1)
      return `[${fields.map((field) => field.slice(field.indexOf(":") + 1)).join(",")}]`;
    return `{${fields.join(",")}}`;
  };
  const entry = (): Entry => {
    if (rnd() < 0.05) return { text: pick(["1", '"s"', "null", "true", "{}"]), answer: { id: null } };
    const method = pick(METHODS);
    let valid = true;
    const members: string[] = [];
    const version = rnd() < 0.93 ? '"2.0"' : pick(['"1.0"', "2", "null"]);
    valid &&= version === '"2.0"';
    members.push(`"jsonrpc":${version}`);
    const name = rnd() < 0.95 ? JSON.stringify(method) : odd();
    valid &&= name.startsWith('"');
    members.push(`"method":${name}`);
    if (rnd() < 0.8) {
      const given = params(method);
      valid &&= given.startsWith("{") || given.startsWith("[");
      members.push(`"params":${given}`);
    }
    let id: string | number | null | undefined;
    const which = rnd();
    if (which < 0.55) id = Math.floor(rnd() * 1e6);
    else if (which < 0.65) id = `s${Math.floor(rnd() * 1e6)}`;
    else if (which < 0.7) id = null;
    if (id !== undefined) members.push(`"id":${JSON.stringify(id)}`);
    const badId = id === undefined && which < 0.75;
    if (badId) members.push(`"id":${pick(["true", "{}", "[]", "[1]"])}`);
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [members[i], members[j]] = [members[j] as string, members[i] as string];
    }
    const text = `{${members.join(",")}}`;
    if (badId) return { text, answer: { id: null } };
    if (!valid) return { text, answer: { id: id ?? null } };
    return { text, answer: id === undefined ? undefined : { id } };
  };
  return () => {
    const entries = Array.from({ length: 1 + Math.floor(rnd() * 8) }, entry);
    // A single object without a jsonrpc member is a berryMQ 0.3 request: such entries go in batches only.
    const single = entries.length === 1 && entries[0]?.text.includes('"jsonrpc"') === true && rnd() < 0.5;
    return { entries, single, body: single ? (entries[0] as Entry).text : `[${entries.map((e) => e.text).join(",")}]` };
  };
}

interface Answer {
  jsonrpc?: unknown;
  id?: unknown;
  result?: unknown;
  error?: { code?: unknown };
}

describe("red team r30: seeded JSON-RPC 2.0 conformance fuzz (live server, 127.0.0.1)", () => {
  const bus = new Bus();
  let server: BridgeServer;
  const tokens: string[] = [];
  before(async () => {
    bus.on("error", () => {});
    server = await serve({ bus, queues: ["own:*"] });
    for (const params of [{ style: "oneway" }, { style: "queue", filter: "fz:*" }]) {
      const opened = await post(server.url, { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params });
      tokens.push((opened.body as { result: { token: string } }).result.token);
    }
  });
  after(() => server.close());

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${BODIES} bodies, each answered as JSON-RPC 2.0 says; the server keeps serving`, async () => {
      const next = generator(seed, tokens);
      for (let n = 0; n < BODIES; n++) {
        const { entries, single, body } = next();
        const answer = await post(server.url, body);
        const where = `seed ${seed}, body ${n}: ${body.slice(0, 300)}\n→ ${answer.status} ${answer.text.slice(0, 300)}`;
        if (REFUSED.some((literal) => body.includes(literal))) {
          const code = (answer.body as Answer).error?.code;
          assert.ok(code === BridgeErrorCode.ParseError || code === BridgeErrorCode.InexactNumber, where);
          continue;
        }
        const expected = entries.flatMap((entry) => (entry.answer === undefined ? [] : [JSON.stringify(entry.answer.id)]));
        if (expected.length === 0) {
          assert.equal(answer.status, 204, `notifications only: no answer (${where})`);
          assert.equal(answer.text, "", where);
          continue;
        }
        assert.equal(answer.status, 200, where);
        const answers = (single ? [answer.body] : answer.body) as Answer[];
        assert.ok(Array.isArray(answers), where);
        assert.deepEqual(answers.map((a) => JSON.stringify(a.id ?? null)).sort(), expected.sort(), `answered ids (${where})`);
        for (const a of answers) {
          assert.equal(a.jsonrpc, "2.0", where);
          assert.ok("result" in a !== "error" in a, `result or error (${where})`);
          if (a.error === undefined) continue;
          assert.ok(KNOWN_CODES.has(a.error.code as number), `known code ${String(a.error.code)} (${where})`);
          assert.notEqual(a.error.code, BridgeErrorCode.InternalError, where);
        }
      }
      const hello = await post(server.url, { jsonrpc: "2.0", id: "after", method: "berrymq.hello" });
      assert.equal((hello.body as Answer).id, "after");
      assert.ok("result" in (hello.body as Answer));
    });
  }
});
