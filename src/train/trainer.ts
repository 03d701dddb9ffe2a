/**
 * Fine-tuning with an adapter plugin: AdamW on the adapter's variables and the task head,
 * warmup + linear decay, gradient clipping, dev evaluation every N steps keeping the best
 * (by the task's main metric), optional early stopping, optional hardware-aware training.
 */
import * as tf from '@tensorflow/tfjs';
import { sampleExamples, type Dataset, type Example } from '../data/datasets.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import type { AttachedAdapter } from '../peft/host.js';
import { RandomStream } from '../tensor/random.js';
import { defaultAnalogSites } from '../model/sites.js';
import { taskRunner, type Metrics, type TaskOptions } from '../task/tasks.js';
import { AdamW } from './adamw.js';
import { HwaTraining, type HwaSetup } from './hwa-sites.js';
import { warmupLinear, type LoopOptions } from './schedule.js';

export interface TrainOptions extends TaskOptions, LoopOptions {
  /** Stop after this many evaluations without improvement (0/undefined: never). */
  patience?: number;
  /**
   * Evaluate on at most this many dev examples during training (a fixed subset spread over
   * the split; default all).
   */
  evalLimit?: number;
  /** The final evaluation on at most this many test examples (a fixed subset spread over the split; default all). */
  testLimit?: number;
  hwa?: HwaSetup;
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  step: number;
  steps: number;
  loss: number;
  tokensPerSecond: number;
  dev?: Metrics;
}

export interface TrainResult {
  main: string;
  bestStep: number;
  dev: Metrics;
  test: Metrics;
  /** Examples the test metrics were computed on. */
  testExamples: number;
  history: { step: number; loss: number; dev?: Metrics }[];
  stoppedEarly: boolean;
  seconds: number;
  tokensPerSecond: number;
}

function better(a: number, b: number, higher: boolean): boolean {
  return higher ? a > b : a < b;
}

/**
 * Train `adapter` (attached to its model) on data.train; returns the best dev metrics and the
 * test metrics at that point.
 */
export async function trainAdapter(adapter: AttachedAdapter, data: Dataset, tok: TextTokenizer, o: TrainOptions): Promise<TrainResult> {
  const model = adapter.model;
  const task = taskRunner(model, data, tok, o);
  const vars = adapter.trainableVariables();
  if (!vars.length) throw new Error('nothing to train: the adapter has no trainable variables and the model no task head');
  const opt = new AdamW({ lr: o.lr, weightDecay: o.weightDecay });
  const rng = new RandomStream(`${o.seed}/train`);
  const hwa = o.hwa ? new HwaTraining(defaultAnalogSites(model), o.hwa) : null;
  const dev = o.evalLimit ? sampleExamples(data.dev, o.evalLimit) : data.dev;
  const evalMode = () => {
    adapter.adapter.beginStep?.(null);
    hwa?.beginStep(null);
  };
  const history: TrainResult['history'] = [];
  let best: { step: number; dev: Metrics; value: number } | null = null;
  let snapshot: tf.Tensor[] | null = null;
  let sinceBest = 0;
  let stoppedEarly = false;
  let tokens = 0;
  const start = performance.now();
  try {
    for (let step = 0; step < o.steps; step++) {
      opt.lr = o.lr * warmupLinear(step, o.warmup, o.steps);
      const stepRng = rng.child('step', step);
      const pick = stepRng.child('batch').uniform(new Float64Array(o.batchSize));
      const chunk: Example[] = Array.from(pick, (u) => data.train[Math.floor(u * data.train.length)]!);
      adapter.adapter.beginStep?.(stepRng.child('adapter'));
      hwa?.beginStep(stepRng.child('hwa'));
      const loss = opt.minimize(
        () => {
          const l = task.loss(chunk, stepRng.child('dropout'));
          const extra = adapter.adapter.extraLoss?.();
          return extra ? (tf.add(l, extra) as tf.Scalar) : l;
        },
        vars,
        o.clip,
      );
      const lv = loss.dataSync()[0]!;
      loss.dispose();
      if (!Number.isFinite(lv)) throw new Error(`training diverged at step ${step + 1} (loss ${lv}); try a lower --lr`);
      tokens += task.tokens(chunk);
      const entry: TrainResult['history'][number] = { step: step + 1, loss: lv };
      if ((step + 1) % o.evalEvery === 0 || step + 1 === o.steps) {
        evalMode();
        const m = task.evaluate(dev);
        entry.dev = m;
        const value = m[task.main]!;
        if (!best || better(value, best.value, task.higherIsBetter)) {
          best = { step: step + 1, dev: m, value };
          snapshot?.forEach((t) => t.dispose());
          snapshot = vars.map((v) => v.clone());
          sinceBest = 0;
        } else if (o.patience && ++sinceBest >= o.patience) {
          stoppedEarly = step + 1 < o.steps;
        }
      }
      history.push(entry);
      const seconds = (performance.now() - start) / 1000;
      o.onProgress?.({
        step: step + 1,
        steps: o.steps,
        loss: lv,
        tokensPerSecond: tokens / Math.max(seconds, 1e-9),
        ...(entry.dev ? { dev: entry.dev } : {}),
      });
      if (stoppedEarly) break;
      // Let timers run (progress bars, signals) between steps.
      await new Promise((r) => setImmediate(r));
    }
    if (snapshot) vars.forEach((v, i) => v.assign(snapshot![i]!));
    evalMode();
    const split = data.test.length ? data.test : data.dev;
    const testSet = o.testLimit ? sampleExamples(split, o.testLimit) : split;
    const test = task.finalEvaluate(testSet);
    const seconds = (performance.now() - start) / 1000;
    return {
      main: task.main,
      bestStep: best?.step ?? 0,
      dev: best?.dev ?? {},
      test,
      testExamples: testSet.length,
      history,
      stoppedEarly,
      seconds,
      tokensPerSecond: tokens / Math.max(seconds, 1e-9),
    };
  } finally {
    snapshot?.forEach((t) => t.dispose());
    hwa?.remove();
    opt.dispose();
  }
}
