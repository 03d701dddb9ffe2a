/**
 * `aimc worker`: runs jobs of any experiment queued on a Redis server. It finds the
 * experiments' queues in the set `aimc:queues`, takes their jobs (training first, as the
 * coordinator enqueues them), checks that its base model, data, plugins and built-in device
 * profiles are the coordinator's (by checksum; a mismatch fails the job at once, with the
 * reason), runs the work on a piscina thread and stores trained adapters as artifacts.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, UnrecoverableError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Piscina } from 'piscina';
import { DirArtifacts, RedisArtifacts, type ArtifactStore } from './artifacts.js';
import { fingerprintMismatch, type JobPayload } from './payload.js';
import type { ThreadTask } from './task-thread.js';
import { QUEUES_KEY, redisOptions, type QueueAddress } from './url.js';
import type { TrialResult } from '../deploy/deployment.js';

export interface WorkerOptions {
  address: QueueAddress;
  /** Jobs run at once (each on its own thread). */
  concurrency: number;
  /** Shared artifact directory (default: artifacts in Redis). */
  artifacts?: string;
  /** Seconds a job's lock lives without renewal: a killed worker's job is taken over after about this long. */
  stallTimeout: number;
  /** Where fetched adapters are kept (default: a folder in the system's temporary directory). */
  cacheDir?: string;
  log: (line: string) => void;
}

function threadFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const f of [join(here, 'task-thread.js'), join(here, '..', '..', 'dist', 'src', 'queue', 'task-thread.js')])
    if (existsSync(f)) return f;
  throw new Error('aimc worker needs the compiled thread (dist/src/queue/task-thread.js): run `npm run build`');
}

/** A running worker: `close()` finishes the jobs in hand and stops. */
export interface RunningWorker {
  name: string;
  close(): Promise<void>;
  /** Resolves when the worker has stopped. */
  closed: Promise<void>;
}

/** Start a worker; it runs until `close()` (or the process ends). */
export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const name = `${hostname()}:${process.pid}`;
  const redis = new Redis(redisOptions(o.address) as never);
  const store: ArtifactStore = o.artifacts ? new DirArtifacts(o.artifacts) : new RedisArtifacts(redis);
  const cacheDir = o.cacheDir ?? join(tmpdir(), `aimc-worker-artifacts`);
  mkdirSync(cacheDir, { recursive: true });
  const pool = new Piscina({ filename: threadFile(), maxThreads: o.concurrency, minThreads: 1, idleTimeout: 60_000 });
  const workers = new Map<string, Worker>();
  let stopping = false;

  const process1 = async (job: Job<JobPayload>): Promise<TrialResult[] | { hash: string }> => {
    const p = job.data;
    const model = p.kind === 'train' ? p.task.model : p.spec.model;
    const task = p.kind === 'train' ? p.task.task : p.spec.task;
    let mismatch: string | null;
    try {
      mismatch = await fingerprintMismatch(p.fingerprints, model, task);
    } catch (e) {
      mismatch = (e as Error).message.split('\n')[0]!;
    }
    // Another machine's files would give another result: never retried, reported as is.
    if (mismatch) throw new UnrecoverableError(`worker ${name}: ${mismatch}`);
    const scratch = mkdtempSync(join(tmpdir(), 'aimc-job-'));
    try {
      // Profile files travel in the job: written here under their own names.
      const localProfile = (text: string, file: string) => {
        const f = join(scratch, 'profiles', file.replace(/[\\/:]/g, '_'));
        mkdirSync(dirname(f), { recursive: true });
        writeFileSync(f, text);
        return f;
      };
      if (p.kind === 'train') {
        const t = { ...p.task };
        if (p.profiles[t.targetDevice] !== undefined) t.targetDevice = localProfile(p.profiles[t.targetDevice]!, t.targetDevice);
        if (t.hwa && p.profiles[t.hwa.device] !== undefined)
          t.hwa = { ...t.hwa, device: localProfile(p.profiles[t.hwa.device]!, t.hwa.device) };
        const out = join(scratch, 'adapter');
        await pool.run({ kind: 'train', task: t, out } satisfies ThreadTask);
        await store.put(t.hash, out);
        return { hash: t.hash };
      }
      const adapter = join(cacheDir, p.adapterHash);
      if (!existsSync(join(adapter, 'job.json')) && !(await store.get(p.adapterHash, adapter))) {
        throw new Error(`adapter ${p.adapterHash} is not in the artifact store`);
      }
      const device = p.profile !== undefined ? localProfile(p.profile, p.spec.device) : p.spec.device;
      return (await pool.run({
        kind: 'trial',
        spec: { ...p.spec, adapter, device },
        trial: p.trial,
      } satisfies ThreadTask)) as TrialResult[];
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  };

  const discover = async () => {
    if (stopping) return;
    let names: string[];
    try {
      names = await redis.smembers(QUEUES_KEY);
    } catch {
      return; // Redis away (restarting): try again at the next tick
    }
    for (const q of names) {
      if (workers.has(q) || stopping) continue;
      const w = new Worker<JobPayload>(q, process1, {
        connection: redisOptions(o.address) as never,
        concurrency: o.concurrency,
        name,
        lockDuration: o.stallTimeout * 1000,
        stalledInterval: o.stallTimeout * 1000,
        maxStalledCount: 2,
      });
      w.on('active', (job) => o.log(`${q}: ${job.name} ${job.id} started`));
      w.on('completed', (job) => o.log(`${q}: ${job.name} ${job.id} done`));
      w.on('failed', (job, err) => o.log(`${q}: ${job?.name} ${job?.id} failed (attempt ${job?.attemptsMade}): ${err.message}`));
      w.on('error', (err) => o.log(`${q}: ${err.message}`));
      workers.set(q, w);
      o.log(`taking jobs of ${q}`);
    }
  };
  await discover();
  const timer = setInterval(() => void discover(), 1000);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  return {
    name,
    closed,
    close: async () => {
      stopping = true;
      clearInterval(timer);
      await Promise.all([...workers.values()].map((w) => w.close()));
      await pool.destroy();
      redis.disconnect();
      resolveClosed();
    },
  };
}
