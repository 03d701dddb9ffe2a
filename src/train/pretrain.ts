/**
 * Pretraining: masked LM for the encoder (RoBERTa's recipe: 15 % of tokens selected — or the
 * rate given — of which 80 % → <mask>, 10 % → random token, 10 % unchanged), causal LM for
 * the decoder; optionally warm-started from another checkpoint.
 * AdamW with linear warmup and linear decay, global-norm gradient clipping, periodic dev
 * evaluation and checkpoints (model + optimizer moments + step) so a killed run resumes.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model/config.js';
import { Transformer, type Batch } from '../model/transformer.js';
import { saveCheckpoint, loadCheckpoint } from '../model/checkpoint.js';
import { RandomStream } from '../tensor/random.js';
import { softmaxCrossEntropy } from '../tensor/ops.js';
import { maskTokens } from '../task/lm-batch.js';
import { AdamW } from './adamw.js';
import { readSafeTensors, toFloat32, writeSafeTensors } from '../model/safetensors.js';
import { warmupLinear, type LoopOptions } from './schedule.js';
import { warmStart, type WarmStart } from '../model/warm-start.js';

export interface PretrainOptions extends LoopOptions {
  config: ModelConfig;
  /** Token sequences (already tokenized), train and dev. */
  train: Int32Array[];
  dev: Int32Array[];
  out: string;
  batchSize: number;
  seqLen: number;
  /** Special ids: mask (encoder), pad. */
  maskId: number;
  padId: number;
  /** Encoder: fraction of tokens selected for prediction (default 0.15). */
  maskRate?: number;
  /** Stop after this step of the `steps` schedule (checkpoint kept, so a later run continues it). */
  stopAt?: number;
  /** A fresh run starts from this model's matching parameters (see model/warm-start.ts). */
  init?: Transformer;
  /** Told what the warm start copied (fresh runs with `init` only). */
  onWarmStart?: (w: WarmStart) => void;
  onProgress?: (p: { step: number; loss: number; tokensPerSecond: number; eval?: EvalResult }) => void;
}

export interface EvalResult {
  /** Mean cross-entropy per predicted token (nats). */
  loss: number;
  /** Encoder: masked-token accuracy; decoder: next-token accuracy. */
  accuracy: number;
  perplexity: number;
}

/** A batch's loss and how many of its predicted tokens were right. */
interface BatchLoss {
  loss: tf.Scalar;
  correct: number;
  count: number;
}

/** Loss and predictions for one batch (encoder: MLM, decoder: next token). */
function batchLoss(model: Transformer, seqs: Int32Array[], o: PretrainOptions, rng: RandomStream, train: boolean): BatchLoss {
  const B = seqs.length;
  const T = o.seqLen;
  const ids = new Int32Array(B * T);
  seqs.forEach((s, i) => ids.set(s, i * T));
  return tf.tidy(() => {
    let logits: tf.Tensor2D;
    let targets: Int32Array;
    if (model.config.arch === 'encoder') {
      const m = maskTokens(ids, rng.child('mask'), model.config.vocabSize, o.maskId, new Set([o.padId]), o.maskRate);
      const batch: Batch = { ids: m.input, B, T };
      logits = model.mlmLogits(batch, m.positions, train ? { train: rng.child('dropout') } : {});
      targets = m.targets;
    } else {
      const batch: Batch = { ids, B, T };
      logits = model.lmLogits(batch, train ? { train: rng.child('dropout') } : {});
      // Predict token t+1 from position t; each sequence's last position has no target.
      targets = new Int32Array(B * T);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) targets[b * T + t] = t + 1 < T ? ids[b * T + t + 1]! : -1;
    }
    const loss = softmaxCrossEntropy(logits, targets);
    const pred = tf.argMax(logits, 1).dataSync();
    let correct = 0;
    let count = 0;
    for (let i = 0; i < targets.length; i++) {
      if (targets[i]! < 0) continue;
      count++;
      if (pred[i] === targets[i]) correct++;
    }
    return { loss: tf.keep(loss), correct, count };
  }) as BatchLoss;
}

/** Evaluate on (up to `maxBatches` batches of) dev sequences with a fixed masking stream. */
export function evaluate(model: Transformer, seqs: Int32Array[], o: PretrainOptions, maxBatches = 50): EvalResult {
  let loss = 0;
  let correct = 0;
  let count = 0;
  const rng = new RandomStream(`${o.seed}/eval`);
  for (let i = 0, n = 0; i < seqs.length && n < maxBatches; i += o.batchSize, n++) {
    const r = batchLoss(model, seqs.slice(i, i + o.batchSize), o, rng.child(i), false);
    loss += r.loss.dataSync()[0]! * r.count;
    r.loss.dispose();
    correct += r.correct;
    count += r.count;
  }
  const mean = loss / Math.max(count, 1);
  return { loss: mean, accuracy: correct / Math.max(count, 1), perplexity: Math.exp(mean) };
}

interface TrainState {
  step: number;
  history: { step: number; loss: number; eval?: EvalResult }[];
  /** Training wall time over every run of this checkpoint so far (s); absent in checkpoints from before it was kept. */
  seconds?: number;
}

/** Write the training state atomically: model checkpoint + optimizer moments + state JSON. */
async function saveState(model: Transformer, opt: AdamW, state: TrainState, dir: string): Promise<void> {
  const tmp = `${dir}.tmp`;
  await saveCheckpoint(model, tmp);
  const moments = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, v] of model.params) {
    const s = opt.slotOf(v);
    if (!s) continue;
    moments.set(`m/${name}`, { shape: v.shape, data: (await s.m.data()) as Float32Array });
    moments.set(`v/${name}`, { shape: v.shape, data: (await s.v.data()) as Float32Array });
  }
  writeFileSync(join(tmp, 'optimizer.safetensors'), writeSafeTensors(moments, { step: String(opt.step) }));
  writeFileSync(join(tmp, 'state.json'), JSON.stringify(state));
  // Swap in the finished checkpoint in one rename, so a crash never leaves a half-written one.
  if (existsSync(dir)) renameSync(dir, `${dir}.old`);
  renameSync(tmp, dir);
  if (existsSync(`${dir}.old`)) (await import('node:fs')).rmSync(`${dir}.old`, { recursive: true, force: true });
}

/** Run (or resume) pretraining; returns the final model and its dev evaluation. */
export async function pretrain(o: PretrainOptions): Promise<{ model: Transformer; eval: EvalResult; state: TrainState }> {
  mkdirSync(o.out, { recursive: true });
  const ckpt = join(o.out, 'checkpoint');
  let model: Transformer;
  let state: TrainState = { step: 0, history: [] };
  const opt = new AdamW({ lr: o.lr, weightDecay: o.weightDecay });
  if (existsSync(join(ckpt, 'state.json'))) {
    model = loadCheckpoint(ckpt);
    state = JSON.parse(readFileSync(join(ckpt, 'state.json'), 'utf8')) as TrainState;
    const st = readSafeTensors(readFileSync(join(ckpt, 'optimizer.safetensors')), join(ckpt, 'optimizer.safetensors'));
    opt.restore(
      Number(st.metadata.step ?? state.step),
      (name, which) => {
        const t = st.tensors.get(`${which}/${name}`);
        return t ? toFloat32(t, name, 'optimizer') : null;
      },
      model.params,
    );
  } else {
    model = new Transformer(o.config, o.seed);
    if (o.config.arch === 'encoder') model.withMlmHead(o.seed);
    if (o.init) o.onWarmStart?.(warmStart(model, o.init));
  }
  const vars = model.variables();
  const rng = new RandomStream(`${o.seed}/train`);
  let t0 = performance.now();
  let tokens = 0;
  const runStart = performance.now();
  // A checkpoint written before times were kept leaves the total unknown (undefined), not undercounted.
  const priorSeconds = state.step === 0 ? 0 : state.seconds;
  const last = Math.min(o.stopAt ?? o.steps, o.steps);
  for (let step = state.step; step < last; step++) {
    opt.lr = o.lr * warmupLinear(step, o.warmup, o.steps);
    // Batches are a pure function of (seed, step): resuming draws exactly what an
    // uninterrupted run would have drawn.
    const pick = rng.child('batch', step).uniform(new Float64Array(o.batchSize));
    const seqs = Array.from(pick, (u) => o.train[Math.floor(u * o.train.length)]!);
    const loss = opt.minimize(() => batchLoss(model, seqs, o, rng.child('step', step), true).loss, vars, o.clip);
    const lv = loss.dataSync()[0]!;
    loss.dispose();
    if (!Number.isFinite(lv)) {
      throw new Error(
        `pretraining diverged at step ${step + 1} (loss ${lv}); ` +
          `the last checkpoint (step ${state.step}) is kept — resume with a lower --lr`,
      );
    }
    tokens += o.batchSize * o.seqLen;
    const done = step + 1;
    let ev: EvalResult | undefined;
    if (done % o.evalEvery === 0 || done === last) {
      ev = evaluate(model, o.dev, o);
      const seconds = priorSeconds === undefined ? undefined : Math.round(priorSeconds + (performance.now() - runStart) / 1000);
      state = {
        step: done,
        history: [...state.history, { step: done, loss: lv, eval: ev }],
        ...(seconds === undefined ? {} : { seconds }),
      };
      await saveState(model, opt, state, ckpt);
    }
    const dt = (performance.now() - t0) / 1000;
    // Let the event loop run (progress bars redraw from timers).
    await new Promise((r) => setImmediate(r));
    o.onProgress?.({ step: done, loss: lv, tokensPerSecond: tokens / Math.max(dt, 1e-9), ...(ev ? { eval: ev } : {}) });
    if (ev) {
      t0 = performance.now();
      tokens = 0;
    }
  }
  const finalEval = state.history[state.history.length - 1]?.eval ?? evaluate(model, o.dev, o);
  return { model, eval: finalEval, state };
}
