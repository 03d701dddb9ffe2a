/**
 * One fine-tuning run end to end: load the base model for the task, create the adapter,
 * train, write the adapter folder (adapter_config.json, adapter.safetensors, finetune.json).
 * Shared by `aimc finetune` and the experiment runner.
 */
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { checkTrainable, type Dataset } from '../data/datasets.js';
import { DeviceModel } from '../device/model.js';
import { loadProfile } from '../device/profile.js';
import { loadModelForTask } from '../model/load.js';
import { createAdapter, type ParamCounts } from '../peft/host.js';
import type { LoadedPlugin } from '../peft/types.js';
import { saveAdapter } from '../peft/state.js';
import { trainAdapter, type Progress, type TrainOptions } from './trainer.js';
import type { ResolvedTraining, TrainingSettings } from './settings.js';

export interface FinetuneJob {
  model: string;
  data: Dataset;
  plugin: LoadedPlugin;
  config: unknown;
  /** Where the config came from, for messages. */
  configSource?: string;
  /** Hardware-aware training: device name/file, time after programming (s), periphery on/off. */
  hwa?: { device: string; t: number; periphery?: boolean } | null;
  /** Horizon noise-aware plugins target when there is no HWA time, s (default 1 d). */
  horizon?: number;
  /** The device the adapter will be deployed on, for noise-aware plugins when there is no HWA device (name or file). */
  targetDevice?: string;
  train: Omit<TrainOptions, 'hwa' | 'onProgress'>;
  /** The resolved settings and their sources, recorded in finetune.json and adapter_config.json. */
  settings?: ResolvedTraining;
  out: string;
  /** Recorded in finetune.json. */
  command?: string;
  /** Called once the adapter exists, before training (to print budgets). */
  onStart?: (info: { counts: ParamCounts; device: DeviceModel | null }) => void;
  onProgress?: (p: Progress) => void;
  /** Progress of the final (test) evaluation: examples done of total. */
  onFinalEvaluate?: (done: number, total: number) => void;
}

export interface FinetuneSummary {
  command?: string;
  task: string;
  adapter: string;
  config: Record<string, unknown>;
  placement: string;
  hwa: { device: string; t: number } | null;
  counts: ParamCounts;
  /** Training settings and where each came from (option, spec, plugin, aimc default). */
  training?: ResolvedTraining;
  mainMetric: string;
  bestStep: number;
  dev: Record<string, number>;
  test: Record<string, number>;
  /** Examples behind `test` (all of the split unless --test-limit). */
  testExamples?: number;
  stoppedEarly: boolean;
  seconds: number;
  tokensPerSecond: number;
}

/** The trainer's options from resolved settings (seed and beams are the caller's). */
export function trainOptionsOf(t: TrainingSettings): Omit<TrainOptions, 'hwa' | 'onProgress' | 'seed'> {
  return {
    steps: t.steps,
    batchSize: t.batch,
    seqLen: t.seq,
    lr: t.lr,
    warmup: Math.min(t.warmup, t.steps),
    weightDecay: t.weightDecay,
    clip: t.clip,
    evalEvery: t.evalEvery,
    ...(t.evalLimit ? { evalLimit: t.evalLimit } : {}),
    ...(t.patience ? { patience: t.patience } : {}),
  };
}

/** Run a fine-tuning job and write its adapter folder; returns the summary. */
export async function runFinetune(job0: FinetuneJob): Promise<FinetuneSummary> {
  let job = job0;
  const device = job.hwa ? new DeviceModel(loadProfile(job.hwa.device)) : null;
  const data = job.data;
  checkTrainable(data);
  const numLabels = data.kind === 'regression' ? 1 : data.labels.length;
  const { model, tokenizer, dir } = loadModelForTask(job.model, numLabels, `${job.train.seed}/head`);
  try {
    const P = model.config.maxPositions;
    if (job.train.seqLen > P) {
      // aimc's default length is cut to the model; a length the user asked for is refused.
      const fromDefault = job.settings?.sources.seq?.startsWith('aimc default');
      if (!fromDefault) {
        throw new Error(`sequence length ${job.train.seqLen} (${job.settings?.sources.seq ?? 'seq'}) exceeds the model's ${P} positions`);
      }
      job = { ...job, train: { ...job.train, seqLen: P } };
    }
    if (!tokenizer) throw new Error(`${dir}: no tokenizer.json`);
    const target = device ?? (job.targetDevice ? new DeviceModel(loadProfile(job.targetDevice)) : null);
    const attached = createAdapter(model, job.plugin, job.config, {
      device: target,
      horizon: job.hwa?.t ?? job.horizon ?? 86400,
      seed: job.train.seed,
      ...(job.configSource ? { source: job.configSource } : {}),
    });
    try {
      const counts = attached.counts();
      job.onStart?.({ counts, device });
      const res = await trainAdapter(attached, data, tokenizer, {
        ...job.train,
        ...(device ? { hwa: { device, t: job.hwa!.t, periphery: job.hwa!.periphery ?? true } } : {}),
        ...(job.onProgress ? { onProgress: job.onProgress } : {}),
        ...(job.onFinalEvaluate ? { onFinalEvaluate: job.onFinalEvaluate } : {}),
      });
      const summary: FinetuneSummary = {
        ...(job.command ? { command: job.command } : {}),
        task: data.name,
        adapter: job.plugin.plugin.name,
        config: attached.config,
        placement: attached.adapter.placement,
        hwa: device ? { device: device.name, t: job.hwa!.t } : null,
        counts,
        ...(job.settings ? { training: job.settings } : {}),
        mainMetric: res.main,
        bestStep: res.bestStep,
        dev: res.dev,
        test: res.test,
        testExamples: res.testExamples,
        stoppedEarly: res.stoppedEarly,
        seconds: Math.round(res.seconds),
        tokensPerSecond: Math.round(res.tokensPerSecond),
      };
      await saveAdapter(job.out, attached, { baseName: basename(dir), training: { ...summary } });
      writeFileSync(join(job.out, 'finetune.json'), JSON.stringify({ ...summary, history: res.history }, null, 2) + '\n');
      return summary;
    } finally {
      attached.dispose();
    }
  } finally {
    model.dispose();
  }
}
