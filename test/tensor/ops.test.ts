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

import { gelu, geluOps, softmaxCrossEntropy, softmaxCrossEntropyOps } from '../../src/tensor/ops.js';
import { nativeAddon } from '../../src/tensor/native.js';

describe('softmaxCrossEntropy', () => {
  // The native kernel, the JS heap loop (AIMC_NATIVE=0 takes it) and the tfjs-op reference.
  const d = (a: tf.Tensor, c: tf.Tensor) => tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]!;
  for (const backend of ['wasm', 'cpu']) {
    it(`loss and gradient equal the one-hot op composition, ignored rows included (${backend})`, async () => {
      await initBackend(backend);
      const N = 37;
      const V = 301;
      const z = tf.mul(tf.randomNormal([N, V], 0, 1, 'float32', 11), 4) as tf.Tensor2D;
      const targets = Int32Array.from({ length: N }, (_, i) => (i % 7 === 3 ? -1 : (i * 53) % V));
      const fast = tf.valueAndGrad((x: tf.Tensor) => softmaxCrossEntropy(x as tf.Tensor2D, targets))(z);
      const ref = tf.valueAndGrad((x: tf.Tensor) => softmaxCrossEntropyOps(x as tf.Tensor2D, targets))(z);
      expect(Math.abs(fast.value.dataSync()[0]! - ref.value.dataSync()[0]!)).toBeLessThan(1e-5 * ref.value.dataSync()[0]!);
      expect(d(fast.grad, ref.grad)).toBeLessThan(1e-6);
      // Ignored rows get no gradient; counted rows' gradients sum to zero (softmax − one-hot).
      const g = fast.grad.arraySync() as number[][];
      expect(g[3]!.every((v) => v === 0)).toBe(true);
      expect(Math.abs(g[0]!.reduce((a, v) => a + v, 0))).toBeLessThan(1e-6);
      // And the value is the mean over counted rows by hand.
      const zs = z.arraySync() as number[][];
      let sum = 0;
      let n = 0;
      targets.forEach((t, i) => {
        if (t < 0) return;
        const m = Math.max(...zs[i]!);
        sum += Math.log(zs[i]!.reduce((a, v) => a + Math.exp(v - m), 0)) + m - zs[i]![t]!;
        n++;
      });
      expect(Math.abs(fast.value.dataSync()[0]! - sum / n)).toBeLessThan(1e-5 * (sum / n));
    });
  }

  it('refuses a target outside the vocabulary and a length mismatch', async () => {
    await initBackend('wasm');
    const z = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(() => softmaxCrossEntropy(z, Int32Array.from([0, 4]))).toThrow(/out of range/);
    expect(() => softmaxCrossEntropy(z, Int32Array.from([0]))).toThrow(/1 targets for 2 rows/);
  });
});

describe('gelu', () => {
  for (const approx of ['erf', 'tanh'] as const) {
    it(`fused ${approx} GELU equals the op composition, value and gradient`, async () => {
      await initBackend('wasm');
      const x = tf.mul(tf.randomNormal([513, 7], 0, 1, 'float32', 12), 3);
      const dy = tf.randomNormal([513, 7], 0, 1, 'float32', 13);
      const loss = (f: typeof gelu) => (xi: tf.Tensor) => tf.sum(tf.mul(f(xi, approx), dy));
      const d = (a: tf.Tensor, c: tf.Tensor) => tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]!;
      expect(d(gelu(x, approx), geluOps(x, approx))).toBeLessThan(1e-5);
      expect(d(tf.grad(loss(gelu))(x), tf.grad(loss(geluOps))(x))).toBeLessThan(1e-4);
      // The fused path is what ran when the addon is there (else both sides are the ops).
      if (nativeAddon()) expect(gelu(x, approx).dataId).not.toBe(geluOps(x, approx).dataId);
    });
  }
});
