/**
 * Piscina worker: runs deployment trials on its own thread with its own tfjs engine. The
 * loaded deployment is kept between tasks of the same spec (loading the model and dataset
 * costs more than a small trial).
 */
import { initBackend } from '../tensor/backend.js';
import { Deployment, type DeploySpec, type TrialResult } from './deployment.js';

let ready: Promise<void> | null = null;
let cached: { key: string; dep: Deployment } | null = null;

export interface TrialTask {
  spec: DeploySpec;
  trial: number;
  backend?: string;
}

/** Run one trial of `spec`. */
export default async function runTrialTask(task: TrialTask): Promise<TrialResult[]> {
  ready ??= initBackend(task.backend).then(() => undefined);
  await ready;
  const key = JSON.stringify(task.spec);
  if (cached?.key !== key) {
    cached?.dep.dispose();
    cached = { key, dep: await Deployment.load(task.spec) };
  }
  return cached.dep.runTrial(task.trial);
}
