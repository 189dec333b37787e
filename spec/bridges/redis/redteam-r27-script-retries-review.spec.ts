// Review of r27 (034dc49: durable scripts answer TRYAGAIN while the prefix's slot is migrated; 3aa79cc:
// the queue's pushes follow redirections without limit). ioredis's defined-script command wraps its reject
// again at every write, and a Cluster writes it again at every redirection: a call waiting through a long
// migration (TRYAGAIN every 100 ms: ~13 minutes at Node's default stack) grew a chain of ~7,700
// wrappers, each reply ran down it, the stack overflowed, and the RangeError was thrown on its own
// (uncaught): the process died. runScript now sends EVAL / EVALSHA itself. Here in a
// process with a small stack (without the fix, it died after ~1,560 tries), retrying every 1 ms.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import { hashSlot } from "../../../bridges/redis/hash-slot.js";
import { QUICK_SYNC, type RedisCluster, reshardEnds, startCluster } from "../../helpers/redis-cluster.js";
import { withClient } from "../../helpers/redis-probe.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/script-retries.ts", import.meta.url));
const TRIES = 3_000;

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster(QUICK_SYNC);
});
after(async () => {
  await cluster?.stop();
});

it(`review r27: a script retried ${TRIES} times through a migration left half-way does not overflow the stack (the process lives, the call goes through)`, {
  timeout: 40_000,
}, async (t) => {
  const key = "r27r:{retries}:n";
  const slot = hashSlot(key);
  const { source, target, sourceId, targetId } = await reshardEnds(cluster, key);
  const child = spawn(process.execPath, ["--stack-size=200", "--import", "tsx", FIXTURE, String(source.port), key], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let exit: number | null | undefined;
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  child.on("exit", (code) => {
    exit = code;
  });
  t.after(() => void (exit === undefined && child.kill("SIGKILL")));
  await waitFor(() => out.includes("ready") || exit !== undefined, "the fixture ready", 15_000);
  await withClient(target.port, (c) => c.cluster("SETSLOT", slot, "IMPORTING", sourceId));
  await withClient(source.port, (c) => c.cluster("SETSLOT", slot, "MIGRATING", targetId));
  const processed = async (): Promise<number> =>
    Number(/total_commands_processed:(\d+)/.exec(await withClient(source.port, (c) => c.info("stats")))?.[1]);
  const start = await processed();
  child.stdin.write("go\n");
  const until = performance.now() + 15_000;
  while ((await processed()) - start < TRIES && exit === undefined && performance.now() < until) await sleep(100);
  const tries = (await processed()) - start;
  await withClient(source.port, (c) => c.cluster("SETSLOT", slot, "STABLE"));
  await withClient(target.port, (c) => c.cluster("SETSLOT", slot, "STABLE"));
  await waitFor(() => exit !== undefined, "the fixture's end", 10_000);
  t.diagnostic(`${tries} commands on the source while the script waited`);
  assert.equal(exit, 0, err.split("\n").slice(0, 3).join("\n"));
  assert.ok(tries >= TRIES, `${tries} tries`);
  assert.match(out, /resolved 2/);
});
