/** `aimc queue status`: jobs per experiment queue and the workers each has seen. */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES_KEY, redisOptions, type QueueAddress } from './url.js';

export interface QueueStatus {
  queue: string;
  waiting: number;
  active: number;
  done: number;
  failed: number;
  delayed: number;
  /** Names of the workers connected to this queue now (host:pid). */
  workers: string[];
}

/** The state of every experiment queue on the server at `address`. */
export async function queueStatus(address: QueueAddress): Promise<QueueStatus[]> {
  const redis = new Redis({ ...(redisOptions(address) as object), maxRetriesPerRequest: 2, retryStrategy: () => null } as never);
  redis.on('error', () => undefined);
  try {
    const names = (await redis.smembers(QUEUES_KEY)).sort();
    const out: QueueStatus[] = [];
    for (const name of names) {
      const q = new Queue(name, { connection: redisOptions(address) as never });
      try {
        const c = await q.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
        // BullMQ names a worker's connection bull:<queue, base64>:w:<worker name>.
        const workers = (await q.getWorkers()).map((w) => {
          const raw = String((w as { rawname?: string }).rawname ?? '');
          const i = raw.indexOf(':w:');
          return i >= 0 ? raw.slice(i + 3) : String(w.addr ?? '?');
        });
        out.push({
          queue: name,
          waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
          active: c.active ?? 0,
          done: c.completed ?? 0,
          failed: c.failed ?? 0,
          delayed: c.delayed ?? 0,
          workers: [...new Set(workers)].sort(),
        });
      } finally {
        await q.close();
      }
    }
    return out;
  } catch (e) {
    throw new Error(`--queue: cannot reach Redis at ${address.display} (${(e as Error).message})`);
  } finally {
    redis.disconnect();
  }
}
