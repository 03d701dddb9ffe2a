/** Calibrated ADC ranges: the quantile estimate, and less MVM error than the fixed bound where outputs use little of it. */
import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { AdcRangeCalibration } from '../../src/crossbar/adc-range.js';
import { idealProfile, mvmError } from '../../src/crossbar/noise-budget.js';
import { DeviceModel } from '../../src/device/model.js';
import { loadProfile } from '../../src/device/profile.js';
import type { DeviceProfile } from '../../src/device/types.js';
import { RandomStream } from '../../src/tensor/random.js';

const layout = (out: number, colSpans: { start: number; size: number }[]) => {
  const colTileOf = new Int32Array(out);
  colSpans.forEach((c, j) => colTileOf.fill(j, c.start, c.start + c.size));
  return { inFeatures: 8, outFeatures: out, rowSpans: [{ start: 0, size: 8 }], colSpans, colTileOf };
};

describe('AdcRangeCalibration', () => {
  it('the range is the quantile of |y| seen (within one histogram bin above it), per array or per column, capped at the bound', () => {
    const bound = 12;
    const rng = new RandomStream('adc-range/q');
    const B = 4000;
    // Column j's outputs are N(0, s_j²); columns 0-1 in one array, 2-3 in another.
    const s = [0.1, 0.4, 2, 50];
    const eps = rng.normal(B * 4);
    const y = Float32Array.from(eps, (e, k) => e * s[k % 4]!);
    const exact = (cols: number[], q: number) => {
      const v = Array.from(
        y.filter((_, k) => cols.includes(k % 4)),
        Math.abs,
      ).sort((a, b) => a - b);
      return v[Math.ceil(q * v.length) - 1]!;
    };
    for (const q of [0.5, 0.99, 1]) {
      const perCol = new AdcRangeCalibration(layout(4, [{ start: 0, size: 4 }]), bound, { quantile: q, granularity: 'column' });
      perCol.observe(0, y);
      const g = perCol.gains()[0]!;
      for (let j = 0; j < 3; j++) {
        const range = bound / g[j]!;
        const want = exact([j], q);
        expect(range).toBeGreaterThanOrEqual(want * (1 - 1e-6));
        expect(range).toBeLessThanOrEqual(want * 1.025);
      }
      // Column 3's outputs reach past the bound: its ADC keeps the full range.
      expect(g[3]).toBe(1);
      const perArray = new AdcRangeCalibration(
        layout(4, [
          { start: 0, size: 2 },
          { start: 2, size: 2 },
        ]),
        bound,
        { quantile: q },
      );
      perArray.observe(0, y);
      const ga = perArray.gains()[0]!;
      expect(ga[0]).toBe(ga[1]);
      const range = bound / ga[0]!;
      expect(range).toBeGreaterThanOrEqual(exact([0, 1], q) * (1 - 1e-6));
      expect(range).toBeLessThanOrEqual(exact([0, 1], q) * 1.025);
    }
  });

  it('refuses to fix ranges from nothing', () => {
    expect(() => new AdcRangeCalibration(layout(2, [{ start: 0, size: 2 }]), 12, { quantile: 1 }).gains()).toThrow(/no calibration inputs/);
  });
});

describe('a calibrated ADC range against the fixed bound', () => {
  it('on skewed inputs (a few large, most near zero: outputs use a sliver of the bound) it gives a smaller MVM error', () => {
    // The device ideal except the ADC, and a 6-bit ADC so that its step matters.
    const base = idealProfile(loadProfile('pcm-nandakumar-2019'));
    const R = 256;
    const C = 128;
    const make = (calibration: DeviceProfile['periphery']['adc']['calibration']) =>
      new DeviceModel({
        ...base,
        tile: { rows: R, cols: C },
        periphery: { ...loadProfile('pcm-nandakumar-2019').periphery, outputNoise: 0, adc: { bits: 6, bound: 12, calibration } },
      });
    const rng = new RandomStream('adc-range/skewed');
    const skewed = (r: RandomStream, n: number) =>
      tf.tensor2d(
        r.normal(n * R).map((e) => e ** 5),
        [n, R],
      );
    const errors = { fixed: [] as number[], calibrated: [] as number[] };
    for (let trial = 0; trial < 4; trial++) {
      const r = rng.child('trial', trial);
      const W = tf.tensor2d(r.child('w').normal(R * C), [R, C]);
      const x = skewed(r.child('x'), 64);
      const cal = skewed(r.child('calibration'), 64);
      errors.fixed.push(mvmError(make(null), W, x, 1, r));
      errors.calibrated.push(mvmError(make({ quantile: 0.999 }), W, x, 1, r, cal));
      [W, x, cal].forEach((t) => t.dispose());
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    // Each trial on its own, and on average by a wide margin (the range narrows by ~5-10×).
    errors.calibrated.forEach((e, k) => expect(e).toBeLessThan(errors.fixed[k]!));
    expect(mean(errors.calibrated)).toBeLessThan(mean(errors.fixed) / 2);
  });
});
