/**
 * The reference's train-step (torch.nn.TransformerEncoder: 4 layers, d=128, 4 heads, FFN 512,
 * ReLU, post-LN, no dropout; mean-pool + linear head; Adam; inputs are random [B, T, d]
 * vectors, no embeddings) built from aimc's model classes: the Transformer's encoder layers
 * (RoBERTa layout with a ReLU FFN) driven by layersForward, and a LinearSite head.
 */
import * as tf from '@tensorflow/tfjs';
import { RandomStream } from '../src/tensor/random.js';
import { normalTensor } from '../src/tensor/kernels/index.js';
import { Transformer } from '../src/model/transformer.js';
import { createSite } from '../src/model/linear.js';
import { defaultConfig } from '../src/model/config.js';
import { AdamW } from '../src/train/adamw.js';

export interface EncoderShape {
  B: number;
  T: number;
  D: number;
  H: number;
  FF: number;
  L: number;
  classes: number;
}

/** One Adam training step closure over fixed inputs, as the reference times it. */
export function trainStep(s: EncoderShape, seed: string): { run(): void; dispose(): void } {
  const rng = new RandomStream(seed);
  const model = new Transformer(
    {
      ...defaultConfig('encoder'),
      vocabSize: 2,
      hiddenSize: s.D,
      numLayers: s.L,
      numHeads: s.H,
      intermediateSize: s.FF,
      maxPositions: s.T,
      dropout: 0,
      numLabels: 0,
      activation: 'relu',
    },
    `${seed}/init`,
  );
  const head = createSite('head', 'head', s.D, s.classes, rng.child('head'), `${model.id}/`);
  const x = normalTensor(rng.child('x'), [s.B * s.T, s.D]) as tf.Tensor2D;
  const labels = Int32Array.from(rng.child('y').uniform(new Float64Array(s.B)), (u) => (u < 0.5 ? 0 : 1));
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), s.classes));
  const opt = new AdamW({ lr: 1e-3 });
  const vars = [...model.layerVariables(), head.weight, head.bias!];
  const batch = { B: s.B, T: s.T };
  return {
    run: () => {
      opt
        .minimize(() => {
          const h = model.layersForward(x, batch);
          const pooled = tf.mean(tf.reshape(h, [s.B, s.T, s.D]), 1) as tf.Tensor2D;
          return tf.losses.softmaxCrossEntropy(y, head.apply(pooled)) as tf.Scalar;
        }, vars)
        .dispose();
    },
    dispose: () => {
      x.dispose();
      y.dispose();
      opt.dispose();
      model.dispose();
      head.weight.dispose();
      head.bias?.dispose();
    },
  };
}
