/**
 * The reference's workloads at RoBERTa-base size (12 layers, d = 768, 12 heads, FFN 3072,
 * GELU, post-LN; random activations [8, 128, 768] as input, no embeddings), built from
 * aimc's Transformer layers, LinearSites and TiledMatrix.
 */
import * as tf from '@tensorflow/tfjs';
import { RandomStream } from '../src/tensor/random.js';
import { normalTensor } from '../src/tensor/kernels/index.js';
import { Transformer } from '../src/model/transformer.js';
import { createSite } from '../src/model/linear.js';
import { defaultConfig } from '../src/model/config.js';
import { AdamW } from '../src/train/adamw.js';
import { DeviceModel } from '../src/device/model.js';
import { loadProfile } from '../src/device/profile.js';
import { TiledMatrix, type AnalogMatrix, type ProgrammedMatrix } from '../src/crossbar/analog-matrix.js';

export const BASE = { L: 12, D: 768, H: 12, FF: 3072, B: 8, T: 128 };

function baseBody(seed: string): Transformer {
  return new Transformer(
    {
      ...defaultConfig('encoder'),
      vocabSize: 2,
      hiddenSize: BASE.D,
      numLayers: BASE.L,
      numHeads: BASE.H,
      intermediateSize: BASE.FF,
      maxPositions: BASE.T,
      dropout: 0,
      numLabels: 0,
      activation: 'gelu',
    },
    `${seed}/init`,
  );
}

/** The tile-forward workload's device: exact weights, 512×512 tiles, output noise 0.06, clip-only bound. */
export function benchTileDevice(): DeviceModel {
  const base = loadProfile('ideal');
  return new DeviceModel({
    ...base,
    name: 'bench-tile',
    tile: { rows: 512, cols: 512 },
    periphery: { ...base.periphery, outputNoise: 0.06, boundManagement: 'none' },
  });
}

/** Frozen body, a trainable scale and shift on each layer's input, mean-pool + linear head; Adam. */
export function basePeftStep(seed: string): { run(): void; dispose(): void } {
  const { L, D, B, T } = BASE;
  const rng = new RandomStream(seed);
  const model = baseBody(seed);
  const head = createSite('head', 'head', D, 2, rng.child('head'), `${model.id}/`);
  const scales = Array.from({ length: L }, (_, i) => tf.tidy(() => tf.variable(tf.ones([D]), true, `${model.id}/s${i}`)));
  const shifts = Array.from({ length: L }, (_, i) => tf.tidy(() => tf.variable(tf.zeros([D]), true, `${model.id}/b${i}`)));
  const x = normalTensor(rng.child('x'), [B * T, D]) as tf.Tensor2D;
  const labels = Int32Array.from(rng.child('y').uniform(new Float64Array(B)), (u) => (u < 0.5 ? 0 : 1));
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 2));
  const opt = new AdamW({ lr: 1e-3 });
  const vars = [...scales, ...shifts, head.weight, head.bias!];
  const layerInput = (i: number, h: tf.Tensor2D) => tf.add(tf.mul(h, scales[i]!), shifts[i]!) as tf.Tensor2D;
  return {
    run: () => {
      opt
        .minimize(() => {
          const h = model.layersForward(x, { B, T }, { layerInput });
          const pooled = tf.mean(tf.reshape(h, [B, T, D]), 1) as tf.Tensor2D;
          return tf.losses.softmaxCrossEntropy(y, head.apply(pooled)) as tf.Scalar;
        }, vars)
        .dispose();
    },
    dispose: () => {
      [x, y, ...scales, ...shifts, head.weight, head.bias!].forEach((t) => t.dispose());
      opt.dispose();
      model.dispose();
    },
  };
}

/** Inference of the body with every Linear on 512×512 tiles through the tile periphery. */
export function baseAnalogForward(seed: string): { run(): void; dispose(): void } {
  const { D, B, T } = BASE;
  const rng = new RandomStream(seed);
  const model = baseBody(seed);
  const dev = benchTileDevice();
  const held: { tiled: TiledMatrix; programmed: ProgrammedMatrix; analog: AnalogMatrix }[] = [];
  for (const s of model.sites) {
    const tiled = TiledMatrix.map(s.weight as tf.Tensor2D, dev);
    const programmed = tiled.program(rng.child(s.name, 'program'));
    const analog = programmed.at(0, rng.child(s.name, 'read'));
    held.push({ tiled, programmed, analog });
    let call = 0;
    s.executor = (h) => analog.forward(h, rng.child(s.name, 'mvm', call++));
  }
  const x = normalTensor(rng.child('x'), [B * T, D]) as tf.Tensor2D;
  return {
    run: () => tf.tidy(() => model.layersForward(x, { B, T })).dispose(),
    dispose: () => {
      for (const h of held) {
        h.analog.dispose();
        h.programmed.dispose();
        h.tiled.dispose();
      }
      x.dispose();
      model.dispose();
    },
  };
}
