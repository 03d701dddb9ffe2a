import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { addBias } from '../../src/tensor/ops.js';

describe('addBias', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`forward and gradients equal tf.add's (${backend})`, async () => {
      await initBackend(backend);
      const x = tf.randomNormal([7, 5], 0, 1, 'float32', 1) as tf.Tensor2D;
      const b = tf.randomNormal([5], 0, 1, 'float32', 2) as tf.Tensor1D;
      const dy = tf.randomNormal([7, 5], 0, 1, 'float32', 3);
      const f = (add: (a: tf.Tensor2D, c: tf.Tensor1D) => tf.Tensor) => (a: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(add(a as tf.Tensor2D, c as tf.Tensor1D), dy));
      const [gx, gb] = tf.grads(f(addBias))([x, b]);
      const [wx, wb] = tf.grads(f((a, c) => tf.add(a, c)))([x, b]);
      expect(tf.max(tf.abs(tf.sub(addBias(x, b), tf.add(x, b)))).dataSync()[0]).toBe(0);
      expect(tf.max(tf.abs(tf.sub(gx!, wx!))).dataSync()[0]!).toBeLessThan(1e-6);
      expect(tf.max(tf.abs(tf.sub(gb!, wb!))).dataSync()[0]!).toBeLessThan(1e-5);
      expect(gb!.shape).toEqual([5]);
    });
  }
});

import { layerNorm, layerNormOps } from '../../src/tensor/ops.js';

describe('layerNorm', () => {
  it('heap loops (wasm) equal the tfjs-op composition, forward and all three gradients', async () => {
    await initBackend('wasm');
    const x = tf.randomNormal([9, 16], 1, 2, 'float32', 4) as tf.Tensor2D;
    const g = tf.randomNormal([16], 1, 0.3, 'float32', 5) as tf.Tensor1D;
    const b = tf.randomNormal([16], 0, 0.3, 'float32', 6) as tf.Tensor1D;
    const dy = tf.randomNormal([9, 16], 0, 1, 'float32', 7);
    const loss = (ln: typeof layerNorm) => (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(ln(xi as tf.Tensor2D, gi as tf.Tensor1D, bi as tf.Tensor1D, 1e-5), dy));
    const fast = tf.grads(loss(layerNorm))([x, g, b]);
    const ref = tf.grads(loss(layerNormOps as typeof layerNorm))([x, g, b]);
    const d = (a: tf.Tensor, c: tf.Tensor) => tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]!;
    expect(d(layerNorm(x, g, b), layerNormOps(x, g, b))).toBeLessThan(1e-5);
    for (let i = 0; i < 3; i++) expect(d(fast[i]!, ref[i]!)).toBeLessThan(1e-4);
  });
});

import { AdamW } from '../../src/train/adamw.js';

describe('wasm Identity shares buffers; in-place updates respect sharing', () => {
  it('a clone of a variable keeps its value through a fused AdamW step', async () => {
    await initBackend('wasm');
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, 'shared-w');
    const snapshot = w.clone();
    const opt = new AdamW({ lr: 0.1 });
    opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar, [w]).dispose();
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(w.dataSync()).every((v, i) => v < [1, 2, 3][i]!)).toBe(true);
    opt.dispose();
  });
});
