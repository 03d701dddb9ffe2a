/** ADC models (ideal, ramp, SAR) against hand-derived conversions, and in the noise budget. */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { convertAdc, type AdcColumns, type TilePeriphery } from '../../src/tensor/kernels/index.js';
import { loadProfile } from '../../src/device/profile.js';
import { DeviceModel } from '../../src/device/model.js';
import { RandomStream } from '../../src/tensor/random.js';
import { idealProfile, mvmError } from '../../src/crossbar/noise-budget.js';
import type { DeviceProfile } from '../../src/device/types.js';

beforeAll(async () => {
  await initBackend();
});

// 3 bits in aimc's convention: step = bound/(2³ − 2); bound 3 → step 0.5, 13 levels over [−3, 3].
const P = (model: TilePeriphery['adcModel']): TilePeriphery => ({
  dacStep: 0,
  dacBound: 1,
  adcStep: 0.5,
  adcBound: 3,
  outputNoise: 0,
  inputNoise: 0,
  adcModel: model,
  adcBits: 3,
  dacBits: 0,
  inputBitsPerPass: 0,
  absMax: false,
  iterative: false,
  iterations: 0,
});

const convert = (model: TilePeriphery['adcModel'], values: number[], cols: AdcColumns | null) => {
  const y = tf.tensor2d(values, [values.length, 1]);
  const out = convertAdc(y, P(model), cols);
  const v = Array.from(out.dataSync());
  y.dispose();
  out.dispose();
  return v;
};
const sar = (weights: number[], offset = 0): AdcColumns => ({
  gain: Float32Array.of(0),
  offset: Float32Array.of(offset),
  weights: Float32Array.from(weights),
});

describe('ADC models', () => {
  it('ideal: clip to ±bound, round to the step', () => {
    expect(convert('ideal', [-1.8, 0.26, 2.9, 10, -10], null)).toEqual([-2, 0.5, 3, 3, -3]);
  });

  it('SAR with exact bit weights is the ideal quantizer (u = (v + 3)/0.5, 4 cycles)', () => {
    const values = [-1.8, -1.0, 0.26, 2.9, 10, -10];
    expect(convert('sar', values, sar([1, 2, 4, 8]))).toEqual(convert('ideal', values, null));
  });

  it('SAR with a heavy MSB skips codes, as derived by hand', () => {
    // Weights [1, 2, 4.6, 8]. v = −1.0 → u = 4: 8 > 4.5 no; 4.6 > 4.5 no; 2 ≤ 4.5 → 2; 3 ≤ 4.5 → 3:
    // code 3 → 3·0.5 − 3 = −1.5 (ideal: −1.0). v = −0.8 → u = 4.4: 4.6 ≤ 4.9 → code 4 → −1.0.
    expect(convert('sar', [-1.0, -0.8], sar([1, 2, 4.6, 8]))).toEqual([-1.5, -1.0]);
    // A comparator offset of +1 LSB: v = −1.8 reads as u = 3.4 → code 3 → −1.5.
    expect(convert('sar', [-1.8], sar([1, 2, 4, 8], 1))).toEqual([-1.5]);
  });

  it('ramp: (1 + gain)·v + offset·step through the ideal quantizer', () => {
    const cols: AdcColumns = { gain: Float32Array.of(0.1), offset: Float32Array.of(-0.6), weights: new Float32Array(0) };
    // 1.9·1.1 − 0.3 = 1.79 → 2.0; −1.2·1.1 − 0.3 = −1.62 → −1.5; 3·1.1 − 0.3 = 3.0 → 3.
    expect(convert('ramp', [1.9, -1.2, 3], cols)).toEqual([2, -1.5, 3]);
  });

  it('a deployment with mismatched ADCs errs more than with ideal ones, and the mismatch is fixed per chip', () => {
    const base = idealProfile(loadProfile('pcm-nandakumar-2019'));
    const withAdc = (adc: DeviceProfile['periphery']['adc']): DeviceModel =>
      new DeviceModel({ ...base, periphery: { ...base.periphery, adc, boundManagement: 'none' } });
    const rng = new RandomStream('adc-test');
    const W = tf.tensor2d(rng.child('w').normal(128 * 64), [128, 64]);
    const x = tf.tensor2d(rng.child('x').normal(16 * 128), [16, 128]);
    const ideal = mvmError(withAdc({ bits: 6, bound: 12 }), W, x, 1, new RandomStream('adc-test/chip'));
    const ramp = mvmError(
      withAdc({ bits: 6, bound: 12, model: 'ramp', gainStd: 0.05, offsetStd: 2 }),
      W,
      x,
      1,
      new RandomStream('adc-test/chip'),
    );
    const sarE = mvmError(
      withAdc({ bits: 6, bound: 12, model: 'sar', capacitorMismatch: 0.2, offsetStd: 2 }),
      W,
      x,
      1,
      new RandomStream('adc-test/chip'),
    );
    expect(ramp).toBeGreaterThan(1.5 * ideal);
    expect(sarE).toBeGreaterThan(1.5 * ideal);
    // The same chip stream draws the same ADCs: the error repeats exactly.
    expect(
      mvmError(withAdc({ bits: 6, bound: 12, model: 'ramp', gainStd: 0.05, offsetStd: 2 }), W, x, 1, new RandomStream('adc-test/chip')),
    ).toBe(ramp);
    W.dispose();
    x.dispose();
  });
});
