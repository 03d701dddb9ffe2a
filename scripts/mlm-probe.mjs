#!/usr/bin/env node
/**
 * How quickly an encoder configuration learns to use its context under masked-LM training,
 * on a synthetic task where it must: sequences of 16 tokens made of adjacent equal pairs
 * (a a b b c c …), so a masked token is its neighbour's twin. Unigram guessing scores
 * 1/43; copying the visible 10 % of "unchanged" targets adds 0.1; above that is attention
 * to the neighbour. A 2-layer d = 64 model, 600 AdamW steps; prints accuracy every 150.
 * Used to choose aimc-enc-small's settings (models/README.md): post-LN at lr 1e-3 stays in
 * the plateau far longer than pre-LN or a higher rate.
 *
 *   npm run build && node scripts/mlm-probe.mjs [--lr 1e-3] [--pre-ln] [--steps 600] [--seed probe]
 */
import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../dist/src/cli/common.js';
import { Transformer } from '../dist/src/model/transformer.js';
import { AdamW } from '../dist/src/train/adamw.js';
import { maskTokens } from '../dist/src/task/lm-batch.js';
import { warmupLinear } from '../dist/src/train/schedule.js';
import { softmaxCrossEntropy } from '../dist/src/tensor/ops.js';
import { RandomStream } from '../dist/src/tensor/random.js';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const LR = Number(opt('lr', '1e-3'));
const STEPS = Number(opt('steps', '600'));
const PRE = args.includes('--pre-ln');
const SEED = opt('seed', 'probe');
await startBackend(undefined, false);

const T = 16;
const V = 48;
const rng = new RandomStream(SEED);
const pairs = (n, split) =>
  Array.from({ length: n }, (_, k) => {
    const u = rng.child(split, k).uniform(new Float64Array(T / 2));
    const s = new Int32Array(T);
    for (let i = 0; i < T / 2; i++) s[2 * i] = s[2 * i + 1] = 5 + Math.floor(u[i] * (V - 5));
    return s;
  });
const train = pairs(2000, 'train');
const dev = pairs(200, 'dev');
const model = new Transformer({ arch: 'encoder', vocabSize: V, hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 256, maxPositions: T, layerNormEps: 1e-5, dropout: 0, padTokenId: 1, numLabels: 0, ...(PRE ? { preLayerNorm: true } : {}) }, SEED).withMlmHead(SEED);
const adam = new AdamW({ lr: LR, weightDecay: 0.01 });
const vars = model.variables();
const batchOf = (seqs, stream) => {
  const ids = new Int32Array(seqs.length * T);
  seqs.forEach((s, k) => ids.set(s, k * T));
  return maskTokens(ids, stream, V, 4, new Set([1]));
};
const accuracy = () => {
  let ok = 0;
  let n = 0;
  for (let i = 0; i < dev.length; i += 50) {
    const chunk = dev.slice(i, i + 50);
    const m = batchOf(chunk, new RandomStream(`${SEED}/eval`).child(i));
    const pred = tf.tidy(() => tf.argMax(model.mlmLogits({ ids: m.input, B: chunk.length, T }, m.positions), 1).dataSync());
    m.targets.forEach((t, j) => ((n += 1), (ok += pred[j] === t ? 1 : 0)));
  }
  return ok / n;
};
const out = [];
for (let step = 0; step < STEPS; step++) {
  adam.lr = LR * warmupLinear(step, 30, STEPS);
  const u = rng.child('batch', step).uniform(new Float64Array(32));
  const m = batchOf(Array.from(u, (x) => train[Math.floor(x * train.length)]), rng.child('mask', step));
  adam.minimize(() => softmaxCrossEntropy(model.mlmLogits({ ids: m.input, B: 32, T }, m.positions), m.targets), vars, 1).dispose();
  if ((step + 1) % 150 === 0) out.push(`${step + 1}: ${accuracy().toFixed(3)}`);
}
console.log(`lr ${LR}${PRE ? ', pre-LN' : ', post-LN'}: masked-token accuracy ${out.join('  ')}`);
