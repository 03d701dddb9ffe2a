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

import { layerNorm } from '../../src/tensor/ops.js';

describe('layerNorm', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`normalizes each row to mean β and std γ (${backend})`, async () => {
      await initBackend(backend);
      const x = tf.randomNormal([9, 16], 1, 2, 'float32', 4) as tf.Tensor2D;
      const y = layerNorm(x, tf.fill([16], 3) as tf.Tensor1D, tf.fill([16], 0.5) as tf.Tensor1D, 1e-5).arraySync() as number[][];
      for (const row of y) {
        const mean = row.reduce((a, v) => a + v, 0) / row.length;
        const sd = Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / row.length);
        expect(mean).toBeCloseTo(0.5, 4);
        // eps = 1e-5 against a variance of ~4 shrinks the std by ~1e-6 relative.
        expect(sd).toBeCloseTo(3, 3);
      }
    });
  }
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

import { gelu, softmaxCrossEntropy } from '../../src/tensor/ops.js';

describe('softmaxCrossEntropy', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`loss is the mean over counted rows; ignored rows get no gradient (${backend})`, async () => {
      await initBackend(backend);
      const N = 37;
      const V = 301;
      const z = tf.mul(tf.randomNormal([N, V], 0, 1, 'float32', 11), 4) as tf.Tensor2D;
      const targets = Int32Array.from({ length: N }, (_, i) => (i % 7 === 3 ? -1 : (i * 53) % V));
      const fast = tf.valueAndGrad((x: tf.Tensor) => softmaxCrossEntropy(x as tf.Tensor2D, targets))(z);
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
  /** erf by Abramowitz–Stegun 7.1.26 is too coarse; integrate exp(−u²) with Simpson's rule. */
  const erf = (x: number) => {
    const n = 2000;
    const h = x / n;
    let s = 0;
    for (let i = 0; i <= n; i++) s += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
    return ((2 / Math.sqrt(Math.PI)) * s * h) / 3;
  };
  const exact = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
  const tanhApprox = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  for (const backend of ['wasm', 'cpu']) {
    for (const approx of ['erf', 'tanh'] as const) {
      it(`${approx} GELU is its formula, and its gradient the formula's derivative (${backend})`, async () => {
        await initBackend(backend);
        const xs = [-4, -1.5, -0.3, 0, 0.2, 1, 2.5, 5];
        const f = approx === 'erf' ? exact : tanhApprox;
        const y = gelu(tf.tensor1d(xs), approx).dataSync();
        xs.forEach((x, i) => expect(Math.abs(y[i]! - f(x))).toBeLessThan(2e-6 * (1 + Math.abs(x))));
        const g = tf.grad((x: tf.Tensor) => tf.sum(gelu(x, approx)))(tf.tensor1d(xs)).dataSync();
        // Central difference in float64 of the formula, step 1e-4: error ~1e-8.
        xs.forEach((x, i) => expect(Math.abs(g[i]! - (f(x + 1e-4) - f(x - 1e-4)) / 2e-4)).toBeLessThan(1e-5));
      });
    }
  }
});
