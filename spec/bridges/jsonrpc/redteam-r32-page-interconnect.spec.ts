// r32 (web-page red team): a page at an allowed origin (allowOrigins) could call every `interconnect` form
// from Chromium: the server then linked out to any loopback port the page named and kept retrying after
// the page was gone (19 connections in 2.5 s to a port that closed each). A page is a client: the router
// refuses the three peer methods to a call whose context says it came from a page (−32009, nothing linked).
// Wiring `fromPage` from the request's Origin is bridge-server.ts's part (see the r32 report).
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { describe, it, type TestContext } from "node:test";
import type { LegacyAnswer } from "../../../bridges/jsonrpc/legacy-methods.js";
import { BridgeState } from "../../../bridges/jsonrpc/bridge-state.js";
import { BridgeErrorCode } from "../../../bridges/jsonrpc/error-codes.js";
import { type RouterAnswer, routeRequest } from "../../../bridges/jsonrpc/request-router.js";
import { createRpcServer } from "../../../bridges/jsonrpc/rpc-methods.js";
import { Bus } from "../../../lib/bus.js";
import { sleep } from "../../helpers/wait-for.js";

type Rpc = { id: unknown; result?: unknown; error?: { code: number; message: string } };

/** A TCP listener where an interconnect would link back: it counts connections. */
async function sink(t: TestContext): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as { port: number }).port, connections: () => count };
}

function state(t: TestContext): BridgeState {
  const bus = new Bus({ id: "page-target" });
  bus.on("error", () => {}); // the control case's link back reports its far side down: expected
  const bridge = new BridgeState({
    bus,
    queues: [],
    sweepInterval: 1_000,
    peerLink: {},
    peerSecret: undefined,
    peerHosts: [],
    secured: false,
    maxSessions: 100,
    maxPeers: 10,
    defaultTtl: 300,
    queueSize: 100,
    queueBytes: 1_000_000,
    queueBytesTotal: 10_000_000,
    maxWaitingGets: 8,
    maxWaitingGetsPerSession: 8,
    legacyEchoWindow: 2_000,
    maxBatch: 1_000,
  });
  t.after(async () => {
    await bridge.close();
    bus.close();
  });
  return bridge;
}

function interconnects(port: number): { label: string; body: unknown }[] {
  const url = `http://127.0.0.1:${port}/`;
  return [
    {
      label: "berrymq.interconnect",
      body: { jsonrpc: "2.0", id: 1, method: "berrymq.interconnect", params: { url, token: "page", busId: "evil", ttl: 60 } },
    },
    { label: "0.3 interconnect", body: { id: "x", method: "interconnect", params: [["127.0.0.1", port], "page-token", 60] } },
    { label: "0.3 connect_interactively", body: { id: 7, method: "connect_interactively", params: [["127.0.0.1", port], 60] } },
    {
      label: "a batch holding berrymq.interconnect",
      body: [
        { jsonrpc: "2.0", id: 2, method: "berrymq.hello" },
        { jsonrpc: "2.0", id: 3, method: "berrymq.interconnect", params: { url, token: "page2", busId: "evil2", ttl: 60 } },
      ],
    },
    {
      label: "berrymq.interconnect as a notification",
      body: { jsonrpc: "2.0", method: "berrymq.interconnect", params: { url, token: "page3", busId: "evil3", ttl: 60 } },
    },
  ];
}

async function route(bridge: BridgeState, body: unknown, fromPage: boolean): Promise<RouterAnswer> {
  const signal = new AbortController().signal;
  return await routeRequest(createRpcServer(bridge), bridge, body, { signal, fromPage });
}

describe("red team r32: interconnect from a web page", () => {
  it("is refused (−32009) in every form and batch; nothing links out; a page's other calls still run", async (t) => {
    const far = await sink(t);
    const bridge = state(t);
    const answers = new Map<string, RouterAnswer>();
    for (const { label, body } of interconnects(far.port)) answers.set(label, await route(bridge, body, true));

    const two = answers.get("berrymq.interconnect") as Rpc;
    assert.equal(two.error?.code, BridgeErrorCode.Forbidden, JSON.stringify(two));
    assert.match(two.error?.message ?? "", /berrymq\.interconnect links servers: a web page .* may not call it/);
    for (const [label, id] of [["0.3 interconnect", "x"], ["0.3 connect_interactively", 7]] as const) {
      const legacy = answers.get(label) as LegacyAnswer;
      assert.equal(legacy.id, id, label);
      assert.equal(legacy.result, null, `${label}: ${JSON.stringify(legacy)}`);
      assert.equal(legacy.error?.code, BridgeErrorCode.Forbidden, label);
      assert.equal(legacy.error?.type, "Forbidden", label);
    }
    const batch = answers.get("a batch holding berrymq.interconnect") as Rpc[];
    assert.equal(batch.length, 2);
    assert.ok(batch[0]?.result !== undefined, "hello still answered");
    assert.equal(batch[1]?.error?.code, BridgeErrorCode.Forbidden);
    assert.equal(answers.get("berrymq.interconnect as a notification"), null);

    await sleep(500); // a link back connects at once, and retries
    assert.equal(far.connections(), 0, "the server linked out for a page");
    assert.equal(bridge.sessions.size, 0, "a peer token was opened for a page");
    // A page's client calls still run.
    const opened = (await route(bridge, { id: 1, method: "connect_oneway", params: [60] }, true)) as LegacyAnswer;
    assert.equal(typeof opened.result, "string");
  });

  it("still links a caller that is not a page (a berrymq server: no Origin)", async (t) => {
    const far = await sink(t);
    const bridge = state(t);
    const [first] = interconnects(far.port);
    const answer = (await route(bridge, first?.body, false)) as Rpc;
    assert.equal(typeof (answer.result as { token?: unknown }).token, "string", JSON.stringify(answer));
    const deadline = Date.now() + 5_000;
    while (far.connections() === 0 && Date.now() < deadline) await sleep(20);
    assert.ok(far.connections() > 0, "no link out");
  });
});
