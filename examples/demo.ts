// `npm run demo`: a tour of the in-process bus — followers (decorated classes and functions), wildcards,
// twitter, talk, queues — printing what happens. Compare with the README's walkthrough.
import { autoTwitter, Bus, expose, Follower, following, kw, type Message, Queue, RequestTimeoutError, stub, within } from "../lib/index.js";

const bus = new Bus();
const log = (text: string): void => console.log(`  ${text}`);
bus.on("error", (error) => log(`⚠ error event: ${error.message}`));

console.log("1. A decorated follower class: each instance registers itself on construction");
@Follower({ bus })
class Logger {
  @following("*:log")
  onLog(message: Message): void {
    log(`[Logger] ${message.name} says ${JSON.stringify(message.args[0])} (level ${String(message.kwargs.level ?? "-")})`);
  }

  @following("*:warn")
  @following("*:error")
  onTrouble(message: Message): void {
    log(`[Logger] trouble from ${message.name}: ${message.action}`);
  }
}
const logger = new Logger();
log(`twitter("disk:log", …) reached ${bus.twitter("disk:log", "80% full", kw({ level: 2 }))} follower(s)`);
bus.twitter("net:error");

console.log("\n2. Plain functions, wildcards on either side, guards");
const stopWorker = bus.follow("worker:*", (m) => log(`[worker:*] got ${m.id}`));
bus.follow("*:stop", (m) => log(`[*:stop] got ${m.id}`), { guard: (m) => m.kwargs.force === true });
log(`twitter("worker:stop", force) reached ${bus.twitter("worker:stop", kw({ force: true }))}`);
log(`twitter("worker:stop") without force reached ${bus.twitter("worker:stop")} (the guard said no)`);
log(`a sender wildcard: twitter("*:log") reached ${bus.twitter("*:log", "to every *:log follower")}`);
stopWorker();

console.log("\n3. A follower that throws is reported; the others still run");
bus.follow("job:run", () => {
  throw new Error("job failed");
});
bus.follow("job:run", () => log("[second follower of job:run] still ran"));
bus.twitter("job:run");

console.log("\n4. talk(): followers' results travel on as messages");
bus.follow("calc:add", (m) => (m.args as number[]).reduce((a, b) => a + b, 0));
bus.follow("calc:add", async (m) => `async: ${(m.args as number[]).join("+")}`);
bus.follow("calc:result", (m) => log(`[calc:result] ${JSON.stringify(m.args[0])}`));
const results = await bus.talk("calc:add", "calc:result", 1, 2, 3);
log(`talk resolved to ${JSON.stringify(results)}`);

console.log("\n5. Queues: standalone copies, shared competition, blocking get with timeout, async iteration");
const audit = new Queue("order:*", { bus });
const workerA = new Queue("order:*", { bus, shared: true });
const workerB = new Queue("order:*", { bus, shared: true });
for (let n = 1; n <= 4; n++) bus.twitter("order:new", n);
log(`audit has ${audit.qsize()} (a copy of each); the shared pair holds ${workerA.qsize()} between them`);
log(`worker A took #${String(workerA.getNowait().args[0])}, worker B took #${String(workerB.getNowait().args[0])}`);
setTimeout(() => bus.twitter("order:new", 5), 20);
const later = await audit.get({ timeout: 1000 });
log(`audit.get() → #${String(later.args[0])} (it had queued ones first: FIFO)`);
try {
  await new Queue("never:*", { bus }).get({ timeout: 50 });
} catch (error) {
  log(`get({ timeout: 50 }) on an idle queue: ${(error as Error).name}: ${(error as Error).message}`);
}
const drained: unknown[] = [];
setTimeout(() => audit.close(), 30);
for await (const message of audit) drained.push(message.args[0]);
log(`async iteration drained ${JSON.stringify(drained)} until close()`);

console.log("\n6. autoTwitter: entry/exit messages around a function");
bus.follow("save:*", (m) => log(`[save:*] ${m.action} ${JSON.stringify(m.args)}`));
const save = autoTwitter("save", { bus })((doc: string) => doc.length);
save("hello");

console.log("\n7. Bounded concurrency of async followers (berryMQ's set_multiplicity)");
bus.setMultiplicity(2);
let running = 0;
let peak = 0;
bus.follow("slow:task", async () => {
  peak = Math.max(peak, ++running);
  await new Promise((resolve) => setTimeout(resolve, 10));
  running--;
});
for (let i = 0; i < 6; i++) bus.twitter("slow:task");
await new Promise((resolve) => setTimeout(resolve, 100));
log(`6 async followers ran, at most ${peak} at once`);

console.log("\n8. Request/response: await the followers' answers (the same code works across linked processes)");
bus.follow("calc:sum", (m) => (m.args as number[]).reduce((a, b) => a + b, 0));
bus.follow("calc:sum", () => {
  throw new RangeError("overflow");
});
log(`ask("calc:sum", 1, 2) → ${String(await bus.ask("calc:sum", 1, 2))} (the first answer)`);
const answers = await bus.request("calc:sum", 1, 2, within({ count: 2 }));
log(`request(…, within({ count: 2 })) → ${answers.map((a) => (a.ok ? String(a.value) : `${a.error.remoteName} from bus ${a.error.bus.slice(0, 8)}…`)).join(", ")}`);
const timedOut = await bus.request("nobody:home", within({ timeout: 30 })).catch((error: unknown) => error);
log(`nobody answers within 30 ms: ${timedOut instanceof RequestTimeoutError ? timedOut.name : "?"}`);
expose("shop:price", (sku: string, quantity: number) => quantity * (sku === "jam" ? 4 : 1), { bus });
const price = stub<[string, number], number>("shop:price", { bus });
log(`a typed stub: price("jam", 3) → ${await price("jam", 3)}`);

console.log("\n9. berryMQ 0.3 namespaces and local names");
bus.follow("*@layer:entry", (m) => log(`[*@layer:entry] got ${m.id}`));
bus.follow("*:entry", (m) => log(`[*:entry] got ${m.id}`));
bus.twitter("x@layer:entry"); // stays inside namespace "layer"
bus.twitter("x:entry"); // the default namespace only
log('a name starting with "_" (like "_cache:flush") is local: links never export it');

void logger;
bus.close();
console.log("\nDone: bus closed.");
