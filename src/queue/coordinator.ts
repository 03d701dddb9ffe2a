/**
 * The coordinator of an experiment on a queue: the runner (src/experiment/runner.ts) with an
 * executor that sends the work to `aimc worker`s through BullMQ. Training jobs are enqueued
 * first, all at once; a trial job is enqueued once the adapter it needs exists (reused here,
 * or trained by a worker and stored as an artifact). The runner still writes results.jsonl,
 * alone and in its own order, so a spec gives the same file whether it ran here or on any
 * number of workers.
 *
 * Job ids are content hashes (the adapter's hash; the deployment, adapter and trial), so a
 * restarted coordinator finds its jobs where they are — waiting, running, done with their
 * results kept, or failed (those get another round) — and never enqueues one twice.
 */
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { DirArtifacts, RedisArtifacts, type ArtifactStore } from './artifacts.js';
import { fingerprintsFor, isBuiltinDevice, profileTexts, type Fingerprints, type JobPayload, type TrialPayload } from './payload.js';
import { queueName, QUEUES_KEY, redisOptions, type QueueAddress } from './url.js';
import { shortHash } from '../experiment/fingerprint.js';
import {
  JobFailedError,
  reuseAdapter,
  trainTaskOf,
  type DeployJob,
  type RunContext,
  type RunExecutor,
  type TrainJob,
} from '../experiment/runner.js';
import type { TrialResult } from '../deploy/deployment.js';

export interface CoordinatorOptions {
  address: QueueAddress;
  /** Shared artifact directory (default: artifacts in Redis). */
  artifacts?: string;
  /** Attempts per job before it is reported as failed (a stalled job, its worker gone, counts as one). */
  attempts?: number;
  /** Poll period for job states, ms. */
  pollMs?: number;
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An executor that runs an experiment's jobs on queue workers. */
export function queueExecutor(o: CoordinatorOptions): (root: string) => RunExecutor {
  return (root) => {
    let ctx: RunContext;
    let redis: Redis;
    let queue: Queue<JobPayload>;
    let store: ArtifactStore;
    let fingerprints: Fingerprints;
    const poll = o.pollMs ?? 250;
    const attempts = o.attempts ?? 3;
    const trialIds = new Map<string, string>();
    const enqueued = new Set<TrainJob>();

    const trialId = (dj: DeployJob, trial: number) => {
      const key = `${dj.train.hash}|${JSON.stringify({ ...ctx.deploySpec(dj), adapter: null })}|${trial}`;
      let id = trialIds.get(key);
      if (!id) trialIds.set(key, (id = `trial_${shortHash(key)}`));
      return id;
    };

    /** Add a job unless one with its id exists; a failed one gets another round. */
    const add = async (name: 'train' | 'trial', id: string, data: JobPayload) => {
      const old = await queue.getJob(id);
      if (old) {
        if ((await old.getState()) === 'failed') await old.retry('failed');
        return;
      }
      await queue.add(name, data, {
        jobId: id,
        attempts,
        backoff: { type: 'fixed', delay: 1000 },
        removeOnComplete: false,
        removeOnFail: false,
      });
    };

    /** Wait for a job to finish: its return value, or JobFailedError with its last error. */
    const outcome = async <T>(id: string, what: string): Promise<T> => {
      for (;;) {
        const job = (await queue.getJob(id)) as Job<JobPayload, T> | undefined;
        if (!job) throw new JobFailedError(what, `job ${id} vanished from the queue`);
        const state = await job.getState();
        if (state === 'completed') return job.returnvalue;
        if (state === 'failed') throw new JobFailedError(what, job.failedReason || 'failed');
        await sleep(poll);
      }
    };

    /** The checksums a worker must match for adapter j's jobs: the run's, with j's plugin only. */
    const fingerprintsOf = (j: TrainJob): Fingerprints => ({ ...fingerprints, plugins: { [j.plugin]: fingerprints.plugins[j.plugin]! } });

    const enqueueTrials = async (j: TrainJob) => {
      for (const dj of ctx.djobs.filter((d) => d.train === j && !ctx.deployDone(d))) {
        const spec = ctx.deploySpec(dj);
        const profile = isBuiltinDevice(dj.device) ? undefined : profileTexts([dj.device])[dj.device];
        for (const trial of ctx.trialsTodo(dj)) {
          const data: TrialPayload = {
            kind: 'trial',
            experiment: ctx.r.spec.name,
            spec: { ...spec, adapter: null },
            adapterHash: j.hash,
            trial,
            ...(profile === undefined ? {} : { profile }),
            fingerprints: fingerprintsOf(j),
          };
          await add('trial', trialId(dj, trial), data);
        }
      }
    };

    /** Adapter j exists here: make sure workers can fetch it, then queue its trials. */
    const publish = async (j: TrainJob) => {
      if (!(await store.has(j.hash))) await store.put(j.hash, j.dir);
      enqueued.add(j);
      await enqueueTrials(j);
    };

    return {
      begin: async (c) => {
        ctx = c;
        redis = new Redis(redisOptions(o.address) as never);
        store = o.artifacts ? new DirArtifacts(o.artifacts) : new RedisArtifacts(redis);
        const name = queueName(c.r.spec.name);
        queue = new Queue<JobPayload>(name, { connection: redisOptions(o.address) as never });
        await redis.sadd(QUEUES_KEY, name);
        const devices = [...new Set([...c.r.spec.devices.map((d) => d.device), ...c.tjobs.flatMap((j) => (j.hwa ? [j.hwa.device] : []))])];
        fingerprints = await fingerprintsFor({ model: c.r.spec.model, task: c.r.spec.task, plugins: [...c.r.plugins.keys()], devices });
        const profiles = profileTexts(devices);
        o.log?.(`queue ${name} on ${o.address.display}`);
        // Training first, all at once; adapters that already exist go straight to their trials.
        const later: TrainJob[] = [];
        for (const j of c.tjobs) {
          if (c.trainDone(j)) continue;
          if (reuseAdapter(j, root)) later.push(j);
          else {
            const task = trainTaskOf(c.r, j);
            await add('train', `train_${j.hash}`, {
              kind: 'train',
              experiment: c.r.spec.name,
              task,
              profiles: Object.fromEntries(
                Object.entries(profiles).filter(([d]) => d === task.targetDevice || (j.hwa && d === j.hwa.device)),
              ),
              fingerprints: fingerprintsOf(j),
            });
          }
        }
        for (const j of later) await publish(j);
      },
      train: async (j) => {
        const reused = reuseAdapter(j, root);
        if (reused) {
          if (!enqueued.has(j)) await publish(j);
          return reused;
        }
        await outcome<{ hash: string }>(`train_${j.hash}`, `training ${j.label} ${j.seed} ${j.hwaKey}`);
        if (!(await store.get(j.hash, j.dir)))
          throw new JobFailedError(`training ${j.label} ${j.seed}`, `its adapter is not in the artifact store`);
        enqueued.add(j);
        await enqueueTrials(j);
        return 'trained';
      },
      trials: async (dj, _ds, todo, _local, on) => {
        if (!enqueued.has(dj.train)) await publish(dj.train);
        await Promise.all(
          todo.map(async (trial) => {
            try {
              on.trial(
                await outcome<TrialResult[]>(trialId(dj, trial), `trial ${trial} of ${dj.train.label} ${dj.train.seed} on ${dj.label}`),
              );
            } catch (e) {
              if (!(e instanceof JobFailedError)) throw e;
              on.fail(trial, e);
            }
          }),
        );
      },
      end: async () => {
        await queue?.close();
        redis?.disconnect();
      },
    };
  };
}
