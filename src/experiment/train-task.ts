/**
 * One training job of an experiment as plain data (what a queue carries to a worker), and
 * the one function that trains it — used by the local runner and by `aimc worker` alike, so
 * an adapter trained anywhere is the same adapter.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, type Dataset } from '../data/datasets.js';
import { loadPlugin } from '../peft/registry.js';
import type { LoadedPlugin } from '../peft/types.js';
import { runFinetune, trainOptionsOf } from '../train/finetune.js';
import type { ResolvedTraining, TrainingSettings } from '../train/settings.js';
import type { HwaSetting } from './spec.js';

export interface TrainTask {
  /** Content hash of everything the adapter depends on (its cache key). */
  hash: string;
  label: string;
  seed: string;
  model: string;
  task: string;
  /** Plugin name or path, as the spec gives it. */
  plugin: string;
  config: Record<string, unknown>;
  configSource: string;
  hwa: HwaSetting;
  /** Read time of the HWA setting, s (when hwa). */
  hwaTime: number | null;
  /** Horizon noise-aware plugins target, s. */
  horizon: number;
  /** The deployment device noise-aware plugins target (name or file). */
  targetDevice: string;
  training: TrainingSettings;
  trainingSources: ResolvedTraining['sources'];
}

/** Train `t` into `out` (finetune files, then job.json last: a folder without it is incomplete). */
export async function runTrainTask(
  t: TrainTask,
  out: string,
  loaded: { data?: Dataset; plugin?: LoadedPlugin } = {},
  onStep?: (step: number) => void,
): Promise<void> {
  const hwa = t.hwa;
  await runFinetune({
    model: t.model,
    data: loaded.data ?? loadDataset(t.task),
    plugin: loaded.plugin ?? (await loadPlugin(t.plugin)),
    config: t.config,
    configSource: t.configSource,
    hwa: hwa ? { device: hwa.device, t: t.hwaTime!, ...(hwa.periphery === undefined ? {} : { periphery: hwa.periphery }) } : null,
    horizon: t.horizon,
    targetDevice: t.targetDevice,
    train: { ...trainOptionsOf(t.training), seed: t.seed },
    settings: { settings: t.training, sources: t.trainingSources },
    out,
    ...(onStep ? { onProgress: (p) => onStep(p.step) } : {}),
  });
  writeFileSync(join(out, 'job.json'), JSON.stringify({ hash: t.hash, label: t.label, seed: t.seed, hwa: t.hwa }, null, 2) + '\n');
}
