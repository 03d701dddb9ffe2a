/**
 * Sequence-classification fine-tuning of an encoder (all parameters: the `full` method) with
 * AdamW, warmup + linear decay, gradient clipping and dev evaluation; the checkpoint with the
 * best dev accuracy is kept. The adapter plugins of issue 5 will reuse this loop.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset, Example } from '../data/datasets.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import type { Transformer, Batch } from '../model/transformer.js';
import { RandomStream } from '../tensor/random.js';
import { AdamW } from './adamw.js';
import { warmupLinear } from './pretrain.js';

export interface ClassifyOptions {
  steps: number;
  batchSize: number;
  seqLen: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  clip: number;
  evalEvery: number;
  seed: string;
  onProgress?: (p: { step: number; loss: number; dev?: number }) => void;
}

/** Tokenize, truncate (keeping the final special token) and pad a batch of examples. */
export function encodeBatch(examples: Example[], tok: TextTokenizer, seqLen: number, padId: number): Batch {
  const rows = examples.map((e) => {
    const ids = tok.encode(e.text, e.textPair);
    return ids.length <= seqLen ? ids : [...ids.slice(0, seqLen - 1), ids[ids.length - 1]!];
  });
  const T = Math.max(...rows.map((r) => r.length));
  const B = rows.length;
  const ids = new Int32Array(B * T).fill(padId);
  const mask = new Float32Array(B * T);
  rows.forEach((r, b) => r.forEach((id, t) => ((ids[b * T + t] = id), (mask[b * T + t] = 1))));
  return { ids, mask, B, T };
}

/** Accuracy of the model's argmax over a list of examples. */
export function accuracy(model: Transformer, examples: Example[], tok: TextTokenizer, o: Pick<ClassifyOptions, 'batchSize' | 'seqLen'>): number {
  let correct = 0;
  for (let i = 0; i < examples.length; i += o.batchSize) {
    const chunk = examples.slice(i, i + o.batchSize);
    const pred = tf.tidy(() => tf.argMax(model.classify(encodeBatch(chunk, tok, o.seqLen, model.config.padTokenId)), 1).dataSync());
    chunk.forEach((e, j) => (correct += pred[j] === e.label ? 1 : 0));
  }
  return correct / Math.max(examples.length, 1);
}

/** Fine-tune all parameters on data.train; returns the best dev accuracy and its test accuracy. */
export function finetuneClassifier(model: Transformer, data: Dataset, tok: TextTokenizer, o: ClassifyOptions): { dev: number; test: number; step: number } {
  const opt = new AdamW({ lr: o.lr, weightDecay: o.weightDecay });
  const vars = model.variables();
  const rng = new RandomStream(`${o.seed}/finetune`);
  const nLabels = model.config.numLabels;
  let best = { dev: -1, test: 0, step: 0 };
  let bestWeights: Map<string, tf.Tensor> | null = null;
  for (let step = 0; step < o.steps; step++) {
    opt.lr = o.lr * warmupLinear(step, o.warmup, o.steps);
    const pick = rng.child('batch', step).uniform(new Float64Array(o.batchSize));
    const chunk = Array.from(pick, (u) => data.train[Math.floor(u * data.train.length)]!);
    const batch = encodeBatch(chunk, tok, o.seqLen, model.config.padTokenId);
    const y = tf.oneHot(tf.tensor1d(Int32Array.from(chunk, (e) => e.label!), 'int32'), nLabels);
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.classify(batch, { train: rng.child('dropout', step) })) as tf.Scalar, vars, o.clip);
    const lv = loss.dataSync()[0]!;
    loss.dispose();
    y.dispose();
    let dev: number | undefined;
    if ((step + 1) % o.evalEvery === 0 || step + 1 === o.steps) {
      dev = accuracy(model, data.dev, tok, o);
      if (dev > best.dev) {
        bestWeights?.forEach((t) => t.dispose());
        bestWeights = new Map([...model.params].map(([n, v]) => [n, v.clone()]));
        best = { dev, test: 0, step: step + 1 };
      }
    }
    o.onProgress?.({ step: step + 1, loss: lv, ...(dev !== undefined ? { dev } : {}) });
  }
  if (bestWeights) {
    for (const [n, t] of bestWeights) {
      model.params.get(n)!.assign(t);
      t.dispose();
    }
  }
  opt.dispose();
  best.test = accuracy(model, data.test, tok, o);
  return best;
}
