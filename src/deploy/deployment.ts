/**
 * A simulated deployment: a model (with its adapter) on a device, evaluated on a task's split
 * after programming, at each requested time, over independent trials. Each trial programs a
 * fresh chip once and reads it at every time, so the times of one trial are the same devices
 * drifting; trials differ only in their seeded streams and can run anywhere in any order.
 */
import type { Dataset } from '../data/datasets.js';
import { loadDataset, sampleExamples } from '../data/datasets.js';
import { DeviceModel } from '../device/model.js';
import { deploymentProfile } from '../device/profile.js';
import { loadModelForTask } from '../model/load.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import type { Transformer } from '../model/transformer.js';
import type { AttachedAdapter } from '../peft/host.js';
import { loadAdapter, readAdapterFile } from '../peft/state.js';
import { RandomStream } from '../tensor/random.js';
import { NonFiniteError, withContext } from '../input/finite.js';
import { defaultAnalogSites } from '../model/sites.js';
import { taskRunner, type Metrics, type TaskRunner } from '../task/tasks.js';
import { chipStorageFor, deviceStateBytes, ProgrammedModel, type ChipStorage } from './analog-sites.js';
import { inferenceCost, type InferenceCost } from './cost.js';

/** Where a trial is: programming its chip (t null; sites done), reading it at t (sites done), or evaluating (examples done). */
export interface TrialProgress {
  trial: number;
  t: number | null;
  stage: 'program' | 'read' | 'evaluate';
  done: number;
  total: number;
}

export interface DeploySpec {
  /** Shipped model name or checkpoint directory. */
  model: string;
  /** Adapter directory (from `aimc finetune`); none = the model as it is. */
  adapter?: string | null;
  /** Dataset name or path. */
  task: string;
  /** Device profile name or file. */
  device: string;
  /** Multiplier on the device's programming and read noise (1 = as characterized). */
  noiseScale?: number;
  /** Read temperature, K (default: the profile's operating or reference temperature). */
  temperature?: number;
  /** Tile size in weights (default: the profile's). */
  tile?: { rows: number; cols: number };
  /** Seconds after programming. */
  times: number[];
  /** Global drift compensation; default: the profile's setting. */
  compensate?: boolean;
  split?: 'test' | 'dev';
  /** Evaluate on the first N examples of the split. */
  evalLimit?: number;
  batchSize?: number;
  seqLen?: number;
  seed: string;
}

export interface TrialResult {
  trial: number;
  t: number;
  metrics: Metrics;
}

/** Training examples run through a freshly programmed chip to calibrate its ADC ranges. */
const CALIBRATION_EXAMPLES = 32;

/** Everything a deployment needs in memory (one per worker). */
export class Deployment {
  private constructor(
    readonly spec: DeploySpec,
    readonly model: Transformer,
    readonly adapter: AttachedAdapter | null,
    readonly device: DeviceModel,
    readonly data: Dataset,
    readonly examples: Dataset['test'],
    readonly runner: TaskRunner,
  ) {}

  /** Load and check everything; throws before any work on a bad model, adapter, task or device. */
  static async load(spec: DeploySpec): Promise<Deployment> {
    const device = new DeviceModel(deploymentProfile(spec.device, spec));
    const data = loadDataset(spec.task);
    const numLabels = data.kind === 'regression' ? 1 : data.labels.length;
    if (spec.adapter) readAdapterFile(spec.adapter);
    const loaded = loadModelForTask(spec.model, numLabels, `${spec.seed}/head`);
    const tok: TextTokenizer | null = loaded.tokenizer;
    if (!tok) throw new Error(`${loaded.dir}: no tokenizer.json`);
    const model = loaded.model;
    let adapter: AttachedAdapter | null = null;
    try {
      if (spec.adapter) adapter = await loadAdapter(spec.adapter, model, { device, seed: spec.seed });
      else if (loaded.freshHead) throw new Error(`${spec.model}: no task head — deploy a fine-tuned model or give --adapter`);
      const split = spec.split ?? 'test';
      const all = split === 'test' && data.test.length ? data.test : data.dev;
      const examples = spec.evalLimit ? sampleExamples(all, spec.evalLimit) : all;
      if (!examples.length) throw new Error(`${data.name}: the ${split} split is empty`);
      const P = model.config.maxPositions;
      if (spec.seqLen !== undefined && spec.seqLen > P) {
        throw new Error(`sequence length ${spec.seqLen} exceeds the model's ${P} positions`);
      }
      const runner = taskRunner(model, data, tok, { batchSize: spec.batchSize ?? 32, seqLen: spec.seqLen ?? Math.min(128, P) });
      adapter?.adapter.beginStep?.(null);
      return new Deployment(spec, model, adapter, device, data, examples, runner);
    } catch (e) {
      adapter?.dispose();
      model.dispose();
      throw e;
    }
  }

  /** The task's main metric and whether higher is better. */
  get main(): { name: string; higherIsBetter: boolean } {
    return { name: this.runner.main, higherIsBetter: this.runner.higherIsBetter };
  }

  /** Estimated energy and latency per token on this device (see cost.ts). */
  cost(): InferenceCost {
    return inferenceCost(defaultAnalogSites(this.model), this.device, this.adapter);
  }

  /** How each trial's chip keeps its devices, and the bytes holding them all would take. */
  chipStorage(): { storage: ChipStorage; bytes: number } {
    const sites = defaultAnalogSites(this.model);
    return { storage: chipStorageFor(sites, this.device), bytes: deviceStateBytes(sites, this.device) };
  }

  /**
   * The inputs an ADC range calibration sees at programming: 32 training examples (the dev
   * split when there is no training split), the same for every trial — never the examples
   * being evaluated.
   */
  calibrationExamples(): Dataset['test'] {
    const pool = this.data.train.length ? this.data.train : this.data.dev;
    if (!pool.length) throw new Error(`${this.data.name}: ADC range calibration needs training or dev examples, and the task has none`);
    return sampleExamples(pool, CALIBRATION_EXAMPLES);
  }

  /** The model evaluated in float (no device): the baseline every analog result is compared to. */
  digital(): Metrics {
    const m = withContext('digital (no device)', () => this.runner.evaluate(this.examples));
    for (const [k, v] of Object.entries(m)) {
      if (!Number.isFinite(v)) throw new NonFiniteError(['digital (no device)'], `metric ${k} is ${v}`);
    }
    return m;
  }

  /** One trial: program a chip, read it at every time (ascending), evaluate each. */
  runTrial(trial: number, progress?: (p: TrialProgress) => void): TrialResult[] {
    const s = this.spec;
    const rng = new RandomStream(`${s.seed}/deploy/${this.device.name}/trial-${trial}`);
    const sites = defaultAnalogSites(this.model);
    const tell = (stage: TrialProgress['stage'], t: number | null) => (done: number, total: number) =>
      progress?.({ trial, t, stage, done, total });
    const chip = ProgrammedModel.program(
      sites,
      this.device,
      rng.child('program'),
      chipStorageFor(sites, this.device),
      tell('program', null),
    );
    try {
      if (chip.calibratesAdc) withContext(`trial ${trial}`, () => chip.calibrate(() => this.runner.evaluate(this.calibrationExamples())));
      return [...s.times]
        .sort((a, b) => a - b)
        .map((t) =>
          withContext(`trial ${trial}`, () => {
            chip.readAt(t, rng.child('t', t), s.compensate === undefined ? {} : { compensate: s.compensate }, tell('read', t));
            const where = `device ${this.device.name}, t = ${t} s`;
            const metrics = withContext(where, () => this.runner.evaluate(this.examples, tell('evaluate', t)));
            for (const [k, v] of Object.entries(metrics)) {
              if (!Number.isFinite(v)) throw new NonFiniteError([where, `trial ${trial}`], `metric ${k} is ${v}`);
            }
            return { trial, t, metrics };
          }),
        );
    } finally {
      chip.dispose();
    }
  }

  dispose(): void {
    this.adapter?.dispose();
    this.model.dispose();
  }
}
