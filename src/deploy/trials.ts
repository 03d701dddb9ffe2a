/**
 * Trials in parallel on worker threads (piscina), or in this thread when one worker is asked
 * for. Results arrive as trials finish; callers that need a fixed order reorder them.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { activeBackend } from '../tensor/backend.js';
import { nativeMatMulActive } from '../tensor/kernels/index.js';
import { Deployment, type DeploySpec, type TrialProgress, type TrialResult } from './deployment.js';

/** The compiled worker (piscina runs JavaScript); null when aimc runs from TypeScript sources without a build. */
function workerFile(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const f of [join(here, 'worker.js'), join(here, '..', '..', 'dist', 'src', 'deploy', 'worker.js')]) if (existsSync(f)) return f;
  return null;
}

/**
 * Default worker count. With the native kernels active, 1 (trials one after another in this
 * thread): the addon's one thread pool already spreads every kernel over all cores and worker
 * threads would share it, each also loading the model (2 trials × 3 reads of 200 messages on
 * 2 cores: 33 s in this thread, 45 s on 2 workers). Otherwise one worker per core, at most one per trial.
 */
export function defaultWorkers(trials: number): number {
  if (nativeMatMulActive()) return 1;
  return Math.max(1, Math.min(trials, availableParallelism()));
}

export interface TrialRunOptions {
  workers?: number;
  /** Called as each trial finishes (any order). */
  onTrial?: (results: TrialResult[]) => void | Promise<void>;
  /** A deployment already loaded in this thread (used when running in-process). */
  local?: Deployment;
  /** Stages within a trial; heard only when trials run in this thread (workers report whole trials). */
  onProgress?: (p: TrialProgress) => void;
}

/** Run `trials` of a deployment; resolves with all results ordered by trial then time. */
export async function runTrials(spec: DeploySpec, trials: number[], o: TrialRunOptions = {}): Promise<TrialResult[]> {
  // Never more threads than trials: extra ones would only idle.
  const workers = Math.min(o.workers ?? defaultWorkers(trials.length), Math.max(1, trials.length));
  const file = workerFile();
  const all: TrialResult[] = [];
  if (workers <= 1 || trials.length <= 1 || !file) {
    const dep = o.local ?? (await Deployment.load(spec));
    try {
      for (const trial of trials) {
        const r = dep.runTrial(trial, o.onProgress);
        all.push(...r);
        await o.onTrial?.(r);
      }
    } finally {
      if (!o.local) dep.dispose();
    }
  } else {
    const pool = new Piscina({ filename: file, maxThreads: workers, minThreads: workers, idleTimeout: 1000 });
    try {
      await Promise.all(
        trials.map(async (trial) => {
          const r = (await pool.run({ spec, trial, backend: activeBackend() })) as TrialResult[];
          all.push(...r);
          await o.onTrial?.(r);
        }),
      );
    } finally {
      await pool.destroy();
    }
  }
  return all.sort((a, b) => a.trial - b.trial || a.t - b.t);
}
