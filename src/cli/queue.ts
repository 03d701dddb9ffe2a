/** `aimc worker` and `aimc queue status`: experiments on many machines (Redis + BullMQ). */
import type { Command } from 'commander';
import { parsePositiveInt } from '../input/values.js';
import { parseQueueUrl } from '../queue/url.js';
import { startWorker } from '../queue/worker.js';
import { queueStatus } from '../queue/status.js';
import { JSON_OPTION, table } from './common.js';
import { resolve } from 'node:path';

/** A Redis server on this machine, Debian's default port. */
const DEFAULT_QUEUE = 'redis://127.0.0.1:6379';

/** Register `aimc worker` and `aimc queue`. */
export function registerQueueCommands(program: Command): void {
  program
    .command('worker')
    .description("run experiment jobs from a Redis queue (any experiment's; started by `aimc experiment run SPEC --queue URL`)")
    .option('--queue <url>', 'Redis server: redis://HOST:PORT[/DB]', DEFAULT_QUEUE)
    .option('--concurrency <n>', 'jobs at once, each on its own thread', '1')
    .option('--artifacts <dir>', "shared directory for trained adapters (the coordinator's --artifacts; default: in Redis)")
    .option(
      '--stall-timeout <s>',
      'seconds after which a job whose worker stopped answering (killed, machine gone) goes to another worker',
      '30',
    )
    .action(async (o: { queue: string; concurrency: string; artifacts?: string; stallTimeout: string }) => {
      const address = parseQueueUrl(o.queue);
      const concurrency = parsePositiveInt(o.concurrency, '--concurrency', 256);
      const stallTimeout = parsePositiveInt(o.stallTimeout, '--stall-timeout', 86400);
      const w = await startWorker({
        address,
        concurrency,
        stallTimeout,
        ...(o.artifacts ? { artifacts: resolve(o.artifacts) } : {}),
        log: (l) => console.error(`${new Date().toISOString()} ${l}`),
      });
      console.error(`worker ${w.name} on ${address.display}, ${concurrency} at a time; Ctrl-C finishes the jobs in hand and stops`);
      const stop = () => void w.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await w.closed;
    });

  program
    .command('queue')
    .description('the experiment queues on a Redis server')
    .command('status')
    .description('jobs waiting / active / done / failed per experiment queue, and the workers connected to each')
    .option('--queue <url>', 'Redis server: redis://HOST:PORT[/DB]', DEFAULT_QUEUE)
    .option(...JSON_OPTION)
    .action(async (o: { queue: string; json?: boolean }) => {
      const s = await queueStatus(parseQueueUrl(o.queue));
      if (o.json) {
        console.log(JSON.stringify(s, null, 2));
        return;
      }
      if (!s.length) {
        console.log('no experiment queues on this server');
        return;
      }
      const t = table(['queue', 'waiting', 'active', 'done', 'failed', 'delayed', 'workers']);
      for (const q of s) t.push([q.queue, q.waiting, q.active, q.done, q.failed, q.delayed, q.workers.join(', ') || '-']);
      console.log(t.toString());
    });
}
