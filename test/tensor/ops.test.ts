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
