// `npm run demo:redis`: two buses linked over Redis pub/sub, a durable request/reply with a timeout
// notice, and a Redis-backed queue. Uses REDIS_URL, or starts its own redis-server on a free port.
import { DurableChannel, RedisLink, RedisQueue } from "../bridges/redis/index.js";
import { Bus } from "../lib/index.js";
import { startRedis } from "../spec/helpers/redis-server.js";

const server = await startRedis();
const connection = server.url;
try {
  // 1. Pub/sub link: what one bus twitters reaches the followers of the other.
  const a = new Bus({ id: "bus-a" });
  const b = new Bus({ id: "bus-b" });
  const linkA = await RedisLink.connect({ bus: a, connection, prefix: "demo:bus:" });
  const linkB = await RedisLink.connect({ bus: b, connection, prefix: "demo:bus:" });
  const arrived = new Promise<void>((resolve) => {
    b.follow("greeting:*", (m) => {
      console.log(`bus-b got ${m.id} ${JSON.stringify(m.args)} via ${m.hops.join(" → ")}`);
      resolve();
    });
  });
  a.twitter("greeting:hello", "from bus-a");
  await arrived;

  // 2. Durable channel: a reply within the timeout, and a timeout notice for the message nobody answers.
  const dispatcher = await DurableChannel.open("dispatcher.1", { connection, prefix: "demo:{durable}:" });
  const worker = await DurableChannel.open("worker.1", { connection, prefix: "demo:{durable}:" });
  await dispatcher.send("task", { to: "worker.1", timeout: 5_000 });
  await dispatcher.send("nobody reads this", { to: "nobody", timeout: 200 });
  const task = await worker.receive();
  console.log(`worker received: ${JSON.stringify(task.content)}`);
  await worker.reply(task, "reply");
  for (let i = 0; i < 2; i++) {
    const answer = await dispatcher.receive({ timeout: 3_000 });
    console.log(`dispatcher received a ${answer.kind}: ${JSON.stringify(answer.content)}`);
    await dispatcher.close(answer);
  }

  // 3. Redis queue: bus-a's job:* messages wait in Redis for any consumer.
  const queue = new RedisQueue("job:*", { bus: a, connection, prefix: "demo:" });
  a.twitter("job:resize", "photo.png");
  const job = await queue.get({ timeout: 1_000 });
  console.log(`queue gave ${job.id} ${JSON.stringify(job.args)}`);

  await Promise.all([linkA.close(), linkB.close(), dispatcher.end(), worker.end(), queue.close()]);
  a.close();
  b.close();
} finally {
  await server.stop();
}
