/** Weight bit slicing: exact digits without noise, attenuated programming error with it. */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { loadProfile } from '../../src/device/profile.js';
import { DeviceModel } from '../../src/device/model.js';
import { RandomStream } from '../../src/tensor/random.js';
import { idealProfile, mvmError } from '../../src/crossbar/noise-budget.js';
import { TiledMatrix } from '../../src/crossbar/analog-matrix.js';
import { mvmCost } from '../../src/crossbar/cost.js';
import type { DeviceProfile } from '../../src/device/types.js';

beforeAll(async () => {
  await initBackend();
});

const ideal = idealProfile(loadProfile('pcm-nandakumar-2019'));
const sliced = (p: DeviceProfile, count: number, base: number): DeviceProfile => ({
  ...p,
  mapping: { ...p.mapping, slices: { count, base } },
});
const rng = new RandomStream('slicing-test');
const W = () => tf.tensor2d(rng.child('w').normal(256 * 192), [256, 192]);
const X = () => tf.tensor2d(rng.child('x').normal(32 * 256), [32, 256]);

describe('weight bit slicing', () => {
  it('without noise a sliced tile computes x·W_q, W quantized to base^count − 1 levels of max|W|', () => {
    const [w, x] = [W(), X()];
    const dev = new DeviceModel(sliced(ideal, 3, 4));
    const tiled = TiledMatrix.map(w, dev);
    // 3 slices of base 4: 63 levels; the digits of one span are 3 tiles over the same inputs.
    expect(tiled.layout.rowSpans.length).toBe(3 * tiled.grid.rowSpans.length);
    const read = tiled.program(new RandomStream('s/p')).at(60, new RandomStream('s/r'));
    const wq = tf.tidy(() => {
      const m = tf.max(tf.abs(w));
      return tf.mul(tf.div(tf.round(tf.mul(tf.div(w, m), 63)), 63), m);
    });
    const eff = read.effectiveWeights();
    expect(tf.max(tf.abs(tf.sub(eff, wq))).dataSync()[0]!).toBeLessThan(1e-5);
    const y = read.forward(x, new RandomStream('s/m'));
    const yq = tf.matMul(x, wq);
    expect(tf.max(tf.abs(tf.sub(y, yq))).dataSync()[0]! / tf.max(tf.abs(yq)).dataSync()[0]!).toBeLessThan(1e-5);
    [w, x, wq, eff, y, yq].forEach((t) => t.dispose());
    read.dispose();
    tiled.dispose();
  });

  it('programming error of a constant σ falls by √Σ w_k², w_k = (B − 1)·B^k/(B^N − 1)', () => {
    // gMin above 0, so no device is clipped at zero conductance and the error stays Gaussian.
    const noisy: DeviceProfile = { ...ideal, conductance: { ...ideal.conductance, gMin: 5 }, programming: { std: 0.5 } };
    const [w, x] = [W(), X()];
    const one = mvmError(new DeviceModel(noisy), w, x, 60, new RandomStream('s/chip'));
    const two = mvmError(new DeviceModel(sliced(noisy, 2, 16)), w, x, 60, new RandomStream('s/chip'));
    const factor = Math.sqrt((15 ** 2 + 240 ** 2) / 255 ** 2);
    // 2 × 256 × 192 independent device errors: the error norms fluctuate by well under 1 %.
    expect(Math.abs(two / one / factor - 1)).toBeLessThan(0.03);
    w.dispose();
    x.dispose();
  });

  it('costs N arrays of cell reads and ADC conversions', async () => {
    const { tileGrid } = await import('../../src/crossbar/tiling.js');
    const p = loadProfile('pcm-nandakumar-2019');
    const grid = tileGrid(600, 300, p.tile.rows, p.tile.cols);
    const a = mvmCost(grid, new DeviceModel(p));
    const b = mvmCost(grid, new DeviceModel(sliced(p, 4, 2)));
    expect(b.cellReads).toBe(4 * a.cellReads);
    expect(b.adcConversions).toBe(4 * a.adcConversions);
    expect(b.dacConversions).toBe(a.dacConversions);
  });
});
