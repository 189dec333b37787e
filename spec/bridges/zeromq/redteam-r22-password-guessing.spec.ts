// Red team r22, RPC with PLAIN: a client may try passwords as fast as the server answers, at the handshake
// (ZAP: a new connection per guess) and, once in with its own credentials, by login frames naming another
// user. Refused attempts are throttled per source; the right password still gets in once the wait is over.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { type Credentials, RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";
import { InvalidArgumentError } from "../../../lib/errors.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep } from "../../helpers/wait-for.js";

const PASSWORDS = { alice: "alice's secret", mallory: "mallory's secret" } as const;

/** An authenticate hook that counts the guesses it was asked about for `alice`. */
function countingHook(): {
  calls: { alice: number };
  authenticate: (mechanism: string, credentials: Credentials) => string | undefined;
} {
  const calls = { alice: 0 };
  return {
    calls,
    authenticate(_mechanism, { username, password }) {
      if (username === "alice") calls.alice++;
      const known = username === "alice" || username === "mallory" ? PASSWORDS[username] : undefined;
      return known !== undefined && known === password ? `user:${username}` : undefined;
    },
  };
}

/** mallory, in with her own credentials, sends login frames with guesses of alice's password for up to 2 s. */
async function guessByLoginFrames(port: number, guesses: number, t: { after(fn: () => void): void }): Promise<string[]> {
  const mallory = new zmq.Dealer({
    routingId: "mallory",
    linger: 0,
    receiveTimeout: 3_000,
    plainUsername: "mallory",
    plainPassword: PASSWORDS.mallory,
  });
  mallory.connect(`tcp://127.0.0.1:${port}`);
  t.after(() => mallory.close());
  const refusals: string[] = [];
  const started = Date.now();
  for (let guess = 0; guess < guesses && Date.now() - started < 2_000; guess++) {
    await mallory.send(["login", JSON.stringify({ username: "alice", password: `guess ${guess}` })]);
    // Answers to earlier frames (login?) may come first: read up to this login's answer.
    for (;;) {
      const [kind, body] = await mallory.receive();
      if (kind?.toString() === "login-no") {
        refusals.push(body?.toString() ?? "");
        break;
      }
    }
  }
  return refusals;
}

describe("zeromq RPC red team r22: password guessing", () => {
  it("login frames naming another user: after 3 refusals each further one waits (loginRetryDelay), without asking authenticate", async (t) => {
    const hook = countingHook();
    const server = await RpcServer.listen({
      port: await freePort(),
      plain: true,
      authenticate: hook.authenticate,
      loginRetryDelay: 1_000,
    });
    server.on("error", () => undefined);
    server.register("ping", () => "pong");
    t.after(() => server.close());
    const refusals = await guessByLoginFrames(server.port, 200, t);
    assert.ok(refusals.length >= 20, `mallory's frames were answered (${refusals.length})`);
    assert.ok(
      hook.calls.alice <= 5,
      `authenticate was asked about alice ${hook.calls.alice} times in 2 s, for ${refusals.length} guesses`,
    );
    assert.ok(
      refusals.every((reason) => reason === "credentials refused"),
      "the throttle says no more than a refusal",
    );
    // alice herself, on her own connection, is not held by mallory's guesses.
    const alice = RpcClient.connect({
      port: server.port,
      plain: { username: "alice", password: PASSWORDS.alice },
      callTimeout: 5_000,
    });
    t.after(() => alice.close());
    assert.equal(await alice.call("ping"), "pong");
    assert.ok(server.users.includes("user:alice"));
  });

  it("login frames from a new connection every 3 guesses are throttled too: by account, not connection (found in review)", async (t) => {
    const hook = countingHook();
    const server = await RpcServer.listen({ port: await freePort(), plain: true, authenticate: hook.authenticate, loginRetryDelay: 1_000 });
    server.on("error", () => undefined);
    server.register("ping", () => "pong");
    t.after(() => server.close());
    let connections = 0;
    const started = Date.now();
    // At most 200 connections: libzmq reaps closed sockets lazily.
    while (Date.now() - started < 2_000 && connections < 200) {
      connections++;
      const mallory = new zmq.Dealer({ routingId: `mallory-${connections}`, linger: 0, receiveTimeout: 3_000, plainUsername: "mallory", plainPassword: PASSWORDS.mallory });
      mallory.connect(`tcp://127.0.0.1:${server.port}`);
      try {
        for (let guess = 0; guess < 3; guess++) {
          await mallory.send(["login", JSON.stringify({ username: "alice", password: `guess ${connections}.${guess}` })]);
          for (;;) {
            const [kind] = await mallory.receive();
            if (kind?.toString() === "login-no") break;
          }
        }
      } finally {
        mallory.close();
      }
    }
    assert.ok(connections >= 10, `mallory made ${connections} connections`);
    assert.ok(hook.calls.alice <= 6, `authenticate was asked about alice ${hook.calls.alice} times over ${connections} connections`);
    // alice herself gets in at once: credentials her handshake just passed are no guess.
    const alice = RpcClient.connect({ port: server.port, plain: { username: "alice", password: PASSWORDS.alice }, callTimeout: 5_000 });
    t.after(() => alice.close());
    assert.equal(await alice.call("ping"), "pong");
  });

  it("handshakes (ZAP) with wrong passwords from one address: after 3 refusals the next ones wait; the right password gets in after the wait", async (t) => {
    const hook = countingHook();
    const server = await RpcServer.listen({
      port: await freePort(),
      plain: true,
      authenticate: hook.authenticate,
      loginRetryDelay: 500,
    });
    server.on("error", () => undefined);
    server.register("ping", () => "pong");
    t.after(() => server.close());
    // A refused handshake is not retried by libzmq: each guess is a new socket, 10 guessing at once.
    let open = 0;
    const guess = async (n: number): Promise<void> => {
      const socket = new zmq.Dealer({ linger: 0, plainUsername: "alice", plainPassword: `guess ${n}` });
      open++;
      const refused = new Promise<void>((resolve) => socket.events.on("handshake:error:auth", () => resolve()));
      socket.connect(`tcp://127.0.0.1:${server.port}`);
      await Promise.race([refused, sleep(1_000)]);
      socket.close();
      open--;
    };
    const started = Date.now();
    let n = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        // At most 400 sockets in all: libzmq reaps closed ones lazily, and its context holds 1,023.
        while (Date.now() - started < 2_000 && n < 400) await guess(n++);
      }),
    );
    assert.equal(open, 0);
    const guessed = hook.calls.alice;
    assert.ok(server.stats.refused >= 20 || n >= 400, `handshakes were refused (${server.stats.refused})`);
    // 3 free, then waits of 0.5, 1, 2 s: at most ~6 asked in 2 s (a guess racing the end of a wait, at most one a wait).
    assert.ok(
      guessed <= 8,
      `authenticate was asked about alice ${guessed} times in 2 s of guessing (${server.stats.refused} refusals)`,
    );
    // Once the source's wait is over, alice's right password is checked and gets in (a refusal while it
    // lasts is unchecked and does not lengthen it; the client does not retry a refused login by itself).
    let error: unknown;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(500)) {
      const alice = RpcClient.connect({
        port: server.port,
        plain: { username: "alice", password: PASSWORDS.alice },
        callTimeout: 3_000,
      });
      alice.on("error", () => undefined);
      try {
        assert.equal(await alice.call("ping"), "pong");
        error = undefined;
        break;
      } catch (failure) {
        error = failure;
      } finally {
        alice.close();
      }
    }
    assert.equal(error, undefined, `alice never got in: ${String(error)}`);
    // alice's own check (handshake and login frame), and perhaps a guess whose handshake outlived its socket.
    assert.ok(hook.calls.alice <= guessed + 4, `alice's attempts in the wait were not checked (${hook.calls.alice} after ${guessed})`);
  });

  it("loginRetryDelay is checked (0 turns the throttle off)", async (t) => {
    const hook = countingHook();
    for (const bad of [-1, Number.NaN, 2 ** 31, "1000"]) {
      await assert.rejects(
        RpcServer.listen({
          port: await freePort(),
          plain: true,
          authenticate: hook.authenticate,
          loginRetryDelay: bad as number,
        }),
        (error: unknown) => error instanceof InvalidArgumentError && /loginRetryDelay/.test(error.message),
      );
    }
    const server = await RpcServer.listen({
      port: await freePort(),
      plain: true,
      authenticate: hook.authenticate,
      loginRetryDelay: 0,
    });
    server.on("error", () => undefined);
    t.after(() => server.close());
    const refusals = await guessByLoginFrames(server.port, 20, t);
    assert.equal(refusals.length, 20);
    assert.equal(hook.calls.alice, 20, "with loginRetryDelay 0 every guess is checked");
  });
});
