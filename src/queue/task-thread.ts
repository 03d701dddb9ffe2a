/**
 * Piscina thread of `aimc worker`: trains an adapter or runs one deployment trial, on its
 * own tfjs engine, so the worker's main thread stays free to renew its BullMQ job locks
 * (a blocked event loop would make a long training look like a dead worker).
 */
import { initBackend } from '../tensor/backend.js';
import { Deployment, type DeploySpec, type TrialResult } from '../deploy/deployment.js';
import { runTrainTask, type TrainTask } from '../experiment/train-task.js';

let ready: Promise<void> | null = null;
let cached: { key: string; dep: Deployment } | null = null;

export type ThreadTask = { kind: 'train'; task: TrainTask; out: string } | { kind: 'trial'; spec: DeploySpec; trial: number };

/** Run one task: train into `out`, or one trial of `spec`. */
export default async function runThreadTask(t: ThreadTask): Promise<TrialResult[] | null> {
  ready ??= initBackend().then(() => undefined);
  await ready;
  if (t.kind === 'train') {
    await runTrainTask(t.task, t.out);
    return null;
  }
  // Loading the model and data costs more than a small trial: keep the last deployment.
  const key = JSON.stringify(t.spec);
  if (cached?.key !== key) {
    cached?.dep.dispose();
    cached = null;
    cached = { key, dep: await Deployment.load(t.spec) };
  }
  return cached.dep.runTrial(t.trial);
}
