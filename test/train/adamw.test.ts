import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { AdamW } from '../../src/train/adamw.js';

/** Three AdamW steps on f(w) = Σ (w·c)², by hand in float64. */
function byHand(w0: number[], c: number[], lr: number, wd: number): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const w = [...w0];
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  for (let t = 1; t <= 3; t++) {
    for (let i = 0; i < w.length; i++) {
      const g = 2 * w[i]! * c[i]! * c[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * g;
      v[i] = b2 * v[i]! + (1 - b2) * g * g;
      w[i] = w[i]! * (1 - lr * wd) - ((lr / (1 - b1 ** t)) * m[i]!) / (Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps);
    }
  }
  return w;
}

describe('AdamW', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`matches the update rule by hand (${backend}: ${backend === 'wasm' ? 'native in-place update when the addon is loaded' : 'tfjs ops'})`, async () => {
      await initBackend(backend);
      const w0 = [0.5, -1.5, 2, 0.01, -0.3];
      const c = [1, 2, 0.5, 3, -1];
      const w = tf.variable(tf.tensor1d(w0), true, `w-${backend}`);
      const ct = tf.tensor1d(c);
      const opt = new AdamW({ lr: 0.05, weightDecay: 0.1 });
      for (let i = 0; i < 3; i++) opt.minimize(() => tf.sum(tf.square(tf.mul(w, ct))) as tf.Scalar, [w]).dispose();
      const want = byHand(w0, c, 0.05, 0.1);
      const got = w.dataSync();
      for (let i = 0; i < w0.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
      expect(opt.step).toBe(3);
      opt.dispose();
      w.dispose();
    });
  }
});
