/**
 * The reference's train-step model (torch.nn.TransformerEncoder: 4 layers, d=128, 4 heads,
 * FFN 512, ReLU, post-LN, mean-pool + linear head, Adam), written with the tfjs ops aimc's
 * model layer uses: rank-2 projections over [B·T, d], attention as one batched matmul per
 * layer over [B·H, T, dh], explicit transposes. Until src/model exists this is the yardstick
 * for the training step.
 */
import * as tf from '@tensorflow/tfjs';
import { RandomStream } from '../src/tensor/random.js';
import { normalTensor } from '../src/tensor/sample.js';
import { addBias, layerNorm } from '../src/tensor/ops.js';
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

interface Layer {
  wq: tf.Variable;
  bq: tf.Variable;
  wk: tf.Variable;
  bk: tf.Variable;
  wv: tf.Variable;
  bv: tf.Variable;
  wo: tf.Variable;
  bo: tf.Variable;
  w1: tf.Variable;
  b1: tf.Variable;
  w2: tf.Variable;
  b2: tf.Variable;
  g1: tf.Variable;
  be1: tf.Variable;
  g2: tf.Variable;
  be2: tf.Variable;
}

/** Xavier-uniform-like init from a named stream (PyTorch's default differs; speed does not care). */
function weight(rng: RandomStream, name: string, fanIn: number, fanOut: number): tf.Variable {
  const std = Math.sqrt(2 / (fanIn + fanOut));
  return tf.variable(tf.tidy(() => tf.mul(normalTensor(rng.child(name), [fanIn, fanOut]), std)), true, `${rng.path}/${name}`);
}

export class BenchEncoder {
  readonly layers: Layer[] = [];
  readonly head: tf.Variable;
  readonly headB: tf.Variable;

  constructor(readonly s: EncoderShape, rng: RandomStream) {
    for (let l = 0; l < s.L; l++) {
      const r = rng.child(`layer-${l}`);
      this.layers.push({
        wq: weight(r, 'wq', s.D, s.D),
        bq: tf.variable(tf.zeros([s.D])),
        wk: weight(r, 'wk', s.D, s.D),
        bk: tf.variable(tf.zeros([s.D])),
        wv: weight(r, 'wv', s.D, s.D),
        bv: tf.variable(tf.zeros([s.D])),
        wo: weight(r, 'wo', s.D, s.D),
        bo: tf.variable(tf.zeros([s.D])),
        w1: weight(r, 'w1', s.D, s.FF),
        b1: tf.variable(tf.zeros([s.FF])),
        w2: weight(r, 'w2', s.FF, s.D),
        b2: tf.variable(tf.zeros([s.D])),
        g1: tf.variable(tf.ones([s.D])),
        be1: tf.variable(tf.zeros([s.D])),
        g2: tf.variable(tf.ones([s.D])),
        be2: tf.variable(tf.zeros([s.D])),
      });
    }
    this.head = weight(rng, 'head', s.D, s.classes);
    this.headB = tf.variable(tf.zeros([s.classes]));
  }

  /** [B·T, D] → [B·H, T, dh] */
  private heads(x: tf.Tensor2D): tf.Tensor3D {
    const { B, T, H, D } = this.s;
    return tf.reshape(tf.transpose(tf.reshape(x, [B, T, H, D / H]), [0, 2, 1, 3]), [B * H, T, D / H]);
  }

  /** Logits [B, classes] for inputs [B·T, D]. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    const { B, T, H, D } = this.s;
    const dh = D / H;
    let h = x;
    for (const p of this.layers) {
      // Separate projections: SplitV of a fused [B·T, 3d] output costs more than two extra GEMMs.
      const q = addBias(tf.matMul(h, p.wq) as tf.Tensor2D, p.bq);
      const k = addBias(tf.matMul(h, p.wk) as tf.Tensor2D, p.bk);
      const v = addBias(tf.matMul(h, p.wv) as tf.Tensor2D, p.bv);
      const kt = tf.transpose(this.heads(k), [0, 2, 1]);
      const att = tf.softmax(tf.mul(tf.matMul(this.heads(q), kt), 1 / Math.sqrt(dh)));
      const ctx = tf.matMul(att, this.heads(v)); // [B·H, T, dh]
      const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [B, H, T, dh]), [0, 2, 1, 3]), [B * T, D]);
      const attnOut = addBias(tf.matMul(merged, p.wo) as tf.Tensor2D, p.bo as tf.Variable);
      h = layerNorm(tf.add(h, attnOut) as tf.Tensor2D, p.g1, p.be1, 1e-5);
      const ff = addBias(tf.matMul(tf.relu(addBias(tf.matMul(h, p.w1) as tf.Tensor2D, p.b1 as tf.Variable)), p.w2) as tf.Tensor2D, p.b2 as tf.Variable);
      h = layerNorm(tf.add(h, ff) as tf.Tensor2D, p.g2, p.be2, 1e-5);
    }
    const pooled = tf.mean(tf.reshape(h, [B, T, D]), 1) as tf.Tensor2D;
    return addBias(tf.matMul(pooled, this.head) as tf.Tensor2D, this.headB as tf.Variable);
  }
}

/** One Adam training step closure over fixed inputs, as the reference times it. */
export function trainStep(s: EncoderShape, seed: string): { run(): void; dispose(): void } {
  const rng = new RandomStream(seed);
  const model = new BenchEncoder(s, rng.child('init'));
  const x = normalTensor(rng.child('x'), [s.B * s.T, s.D]) as tf.Tensor2D;
  const labels = new Int32Array(s.B).map((_, i) => (rng.child('y').uniform(s.B)[i]! < 0.5 ? 0 : 1));
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), s.classes));
  const opt = new AdamW({ lr: 1e-3 });
  const vars = [...model.layers.flatMap((l) => Object.values(l) as tf.Variable[]), model.head, model.headB];
  return {
    run: () => {
      opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.forward(x)) as tf.Scalar, vars).dispose();
    },
    dispose: () => {
      x.dispose();
      y.dispose();
      opt.dispose();
      for (const l of model.layers) Object.values(l).forEach((v) => (v as tf.Variable).dispose());
      model.head.dispose();
      model.headB.dispose();
    },
  };
}
