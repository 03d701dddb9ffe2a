/**
 * Device statistics against the closed forms of ARCHITECTURE.md (aihwkit's PCM models),
 * coded here independently of the profile expressions.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { DeviceModel } from '../../src/device/model.js';
import { atTemperature, loadProfile, parseTemperature } from '../../src/device/profile.js';
import type { DeviceProfile } from '../../src/device/types.js';
import { RandomStream } from '../../src/tensor/random.js';
import { moments, phi, tolerances } from '../helpers/stats.js';

const clip = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

interface ClosedForm {
  gMax: number;
  t0: number;
  tRead: number;
  progStd(r: number): number;
  nuMean(r: number): number;
  nuStd(r: number): number;
  q(rProg: number): number;
}

const PCM: ClosedForm = {
  gMax: 25,
  t0: 20,
  tRead: 250e-9,
  progStd: (r) => 0.26348 + 1.965 * r - 1.1731 * r * r,
  nuMean: (r) => clip(-0.0155 * Math.log(Math.max(r, 1e-7)) + 0.0244, 0.049, 0.1),
  nuStd: (r) => clip(-0.0125 * Math.log(Math.max(r, 1e-7)) - 0.0059, 0.008, 0.045),
  q: (rp) => Math.min(0.0088 / Math.max(rp ** 0.65, 1e-3), 0.2),
};

// aihwkit HermesNoiseModel(num_devices=2), transcribed branch by branch.
const HERMES: ClosedForm = {
  gMax: 20.7,
  t0: 300,
  tRead: 512e-9,
  progStd: (r) => 0.16603222 + 4.71806468 * r - 8.48101252 * r ** 2 + 4.68961419 * r ** 3,
  nuMean: (r) => (r < 0.0945 ? clip(-0.0387 * Math.log(r) - 0.0182, 0.072, 0.13) : -0.0436 * r * r - 0.0126 * r + 0.0736),
  nuStd: (r) => (r < 0.3055 ? clip(-0.0117 * Math.log(r) - 0.0057, 0.0091, 0.04) : -0.0118 * r * r + 0.0093 * r + 0.0073),
  q: (rp) => (rp < 0.16 ? clip(-0.0117 * Math.log(rp) - 0.0069, 0.015, 0.04) : 0.0069 * rp ** 3 - 0.028 * rp ** 2 + 0.0211 * rp + 0.0123),
};

/** E[exp(s·|X|)] for X ~ N(mu, sd): the folded-normal moment generating function. */
function foldedMgf(s: number, mu: number, sd: number): number {
  return (
    Math.exp(s * mu + (s * s * sd * sd) / 2) * phi(mu / sd + s * sd) + Math.exp(-s * mu + (s * s * sd * sd) / 2) * phi(-mu / sd + s * sd)
  );
}

/** Exact mean and std of g(t) for a device programmed to r·gMax (clipping at 0 neglected). */
function closedForm(m: ClosedForm, r: number, t: number): { mean: number; std: number } {
  const gT = r * m.gMax;
  const sp = m.progStd(r);
  const k = Math.log((t + m.t0) / m.t0);
  const ED = foldedMgf(-k, m.nuMean(r), m.nuStd(r));
  const ED2 = foldedMgf(-2 * k, m.nuMean(r), m.nuStd(r));
  const S2 = Math.log((t + m.t0 + m.tRead) / (2 * m.tRead));
  // E[gp²(1 + Q(gp)²S²)] over gp ~ N(gT, sp²): Q depends on the programmed value, so
  // integrate numerically (trapezoid over ±10 std).
  let acc = 0;
  let wsum = 0;
  const n = 4000;
  for (let i = 0; i <= n; i++) {
    const z = -10 + (20 * i) / n;
    const gp = gT + sp * z;
    const w = Math.exp(-0.5 * z * z) * (i === 0 || i === n ? 0.5 : 1);
    const q = m.q(Math.abs(gp) / m.gMax);
    acc += w * gp * gp * (1 + q * q * S2);
    wsum += w;
  }
  const Eg2 = (acc / wsum) * ED2;
  const mean = gT * ED;
  return { mean, std: Math.sqrt(Eg2 - mean * mean) };
}

const N = 400_000;
const TIMES = [1, 3600, 86400, 31536000];

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

function checkAgainst(profileName: string, form: ClosedForm, rs: number[]) {
  const dev = new DeviceModel(loadProfile(profileName));
  for (const r of rs) {
    const rng = new RandomStream(`physics-test/${profileName}/${r}`);
    const target = tf.fill([N], r * form.gMax);
    const prog = dev.program(target, rng.child('program'));
    for (const t of TIMES) {
      const g = dev.conductanceAt(prog, t, rng.child('read', t));
      const xs = g.dataSync();
      g.dispose();
      let s = 0;
      for (const v of xs) s += v;
      const mean = s / N;
      let v2 = 0;
      for (const v of xs) v2 += (v - mean) ** 2;
      const std = Math.sqrt(v2 / (N - 1));
      const tol = tolerances(xs, 5);
      const cf = closedForm(form, r, t);
      expect(Math.abs(mean - cf.mean), `${profileName} mean r=${r} t=${t}: ${mean} vs ${cf.mean}`).toBeLessThan(tol.mean);
      expect(Math.abs(std - cf.std), `${profileName} std r=${r} t=${t}: ${std} vs ${cf.std}`).toBeLessThan(tol.std);
    }
    prog.dispose();
    target.dispose();
  }
}

describe('pcm-nandakumar-2019 matches the closed forms within Monte Carlo error', () => {
  it('mean and std of g at g/gMax 0.1, 0.5, 0.9 and t = 1 s, 1 h, 1 day, 1 year', () => {
    checkAgainst('pcm-nandakumar-2019', PCM, [0.1, 0.5, 0.9]);
  });

  it('programming-noise std is the published polynomial', () => {
    const dev = new DeviceModel(loadProfile('pcm-nandakumar-2019'));
    for (const r of [0, 0.1, 0.5, 0.9, 1]) expect(dev.programNoiseStdAt(r * 25)).toBeCloseTo(PCM.progStd(r), 10);
  });

  it('drift lowers the mean conductance monotonically in time', () => {
    const dev = new DeviceModel(loadProfile('pcm-nandakumar-2019'));
    const rng = new RandomStream('monotone');
    const target = tf.fill([100_000], 12.5);
    const prog = dev.program(target, rng.child('p'));
    const means = [1, 60, 3600, 86400, 2592000, 31536000].map((t) => {
      const g = dev.conductanceAt(prog, t, rng.child('r', t));
      const m = tf.mean(g).dataSync()[0]!;
      g.dispose();
      return m;
    });
    for (let i = 1; i < means.length; i++) expect(means[i]!).toBeLessThan(means[i - 1]!);
    prog.dispose();
    target.dispose();
  });
});

describe('pcm-hermes-2023 matches aihwkit HermesNoiseModel(num_devices=2)', () => {
  it('mean and std of g at both sides of every branch point', () => {
    checkAgainst('pcm-hermes-2023', HERMES, [0.05, 0.2, 0.5]);
  });
});

describe('rram-wan-2022 relaxation', () => {
  const poly = (c: number[]) => (r: number) => c.reduce((a, ci, i) => a + ci * r ** i, 0);
  const s1 = poly([0.348, 16.03, -43.853, 45.393, -16.815]);
  const s1d = poly([0.701, 22.086, -50.773, 47.095, -16.458]);
  const s2d = poly([0.782, 20.274, -43.507, 37.062, -11.934]);

  it('spread at the measured times is the fitted polynomial; interpolated in ln t between; held after', () => {
    const dev = new DeviceModel(loadProfile('rram-wan-2022'));
    const r = 0.5;
    const rng = new RandomStream('rram');
    const target = tf.fill([N], r * 40);
    const prog = dev.program(target, rng.child('p'));
    const w12h = Math.log(43200) / Math.log(86400);
    const cases: [number, number][] = [
      [1, s1(r)],
      [43200, s1(r) * (1 - w12h) + s1d(r) * w12h],
      [86400, s1d(r)],
      [172800, s2d(r)],
      [31536000, s2d(r)],
    ];
    for (const [t, sd] of cases) {
      const g = dev.conductanceAt(prog, t, rng.child('r', t));
      const xs = g.dataSync();
      g.dispose();
      const tol = tolerances(xs, 5);
      const { mean, variance } = tf.tidy(() => tf.moments(tf.tensor1d(xs)));
      expect(Math.abs(mean.dataSync()[0]! - 20), `mean t=${t}`).toBeLessThan(tol.mean);
      expect(Math.abs(Math.sqrt(variance.dataSync()[0]!) - sd), `std t=${t}`).toBeLessThan(tol.std);
    }
    prog.dispose();
    target.dispose();
  });

  it('the same programmed devices stay correlated across read times', () => {
    const dev = new DeviceModel(loadProfile('rram-wan-2022'));
    const rng = new RandomStream('rram-corr');
    const target = tf.fill([N], 20);
    const prog = dev.program(target, rng.child('p'));
    const a = dev.conductanceAt(prog, 1, rng.child('r', 1));
    const b = dev.conductanceAt(prog, 86400, rng.child('r', 86400));
    const corr = tf.tidy(() => {
      const da = tf.sub(a, tf.mean(a));
      const db = tf.sub(b, tf.mean(b));
      return tf.div(tf.mean(tf.mul(da, db)), tf.mul(tf.sqrt(tf.mean(tf.square(da))), tf.sqrt(tf.mean(tf.square(db))))).dataSync()[0]!;
    });
    // Independent increments: corr = σ(1 s)/σ(1 d); SE of a correlation ≈ (1−ρ²)/√N.
    const expected = s1(0.5) / s1d(0.5);
    expect(Math.abs(corr - expected)).toBeLessThan((5 * (1 - expected ** 2)) / Math.sqrt(N));
    [a, b, target].forEach((x) => x.dispose());
    prog.dispose();
  });
});

function variant(base: string, patch: (p: DeviceProfile) => void): DeviceModel {
  const p = structuredClone(loadProfile(base));
  patch(p);
  return new DeviceModel(p);
}

describe('finite levels, faults, scales', () => {
  it('targets are quantized to the profile levels', () => {
    const dev = variant('ideal', (p) => (p.conductance.levels = 5));
    const g = tf.tensor1d([0, 3, 6.25, 7, 12.4, 20, 25]);
    const q = dev.quantizeTarget(g).dataSync();
    expect(Array.from(q)).toEqual([0, 0, 6.25, 6.25, 12.5, 18.75, 25]);
    const prog = dev.program(g, new RandomStream('levels'));
    expect(Array.from(prog.gProg.dataSync())).toEqual([0, 0, 6.25, 6.25, 12.5, 18.75, 25]);
    prog.dispose();
  });

  it('stuck-at rates match the profile and stuck devices keep their value over time', () => {
    const dev = variant('pcm-nandakumar-2019', (p) => (p.faults = { stuckAtGMin: 0.1, stuckAtGMax: 0.05 }));
    const n = 200_000;
    const target = tf.fill([n], 12.5);
    const rng = new RandomStream('faults');
    const prog = dev.program(target, rng);
    const g0 = prog.gProg.dataSync();
    let atMin = 0;
    let atMax = 0;
    for (const v of g0) {
      if (v === 0) atMin++;
      else if (v === 25) atMax++;
    }
    for (const [count, p] of [
      [atMin, 0.1],
      [atMax, 0.05],
    ] as const) {
      expect(Math.abs(count - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    }
    const g1y = dev.conductanceAt(prog, 31536000, rng.child('read')).dataSync();
    for (let i = 0; i < n; i++) if (g0[i] === 0 || g0[i] === 25) expect(g1y[i]).toBe(g0[i]);
    prog.dispose();
    target.dispose();
  });

  it('noise scales multiply the programming std and the drift exponent', () => {
    const base = new DeviceModel(loadProfile('pcm-nandakumar-2019'));
    const scaled = variant('pcm-nandakumar-2019', (p) => (p.scales = { programming: 2, drift: 3, read: 1 }));
    expect(scaled.programNoiseStdAt(10)).toBeCloseTo(2 * base.programNoiseStdAt(10), 10);
    const g = tf.fill([1000], 10);
    const a = base.sampleNu(g, new RandomStream('nu'))!.dataSync();
    const b = scaled.sampleNu(g, new RandomStream('nu'))!.dataSync();
    for (let i = 0; i < 1000; i++) expect(b[i]).toBeCloseTo(3 * a[i]!, 5);
  });

  it('same stream name gives identical bits; another trial gives different draws', () => {
    const dev = new DeviceModel(loadProfile('pcm-nandakumar-2019'));
    const target = tf.fill([4096], 10);
    const run = (trial: number) => {
      const rng = new RandomStream(`seed-1/trial-${trial}/layer/program`);
      const p = dev.program(target, rng);
      const g = dev.conductanceAt(p, 3600, rng.child('read')).dataSync();
      p.dispose();
      return Buffer.from(new Float32Array(g).buffer);
    };
    expect(run(0).equals(run(0))).toBe(true);
    expect(run(0).equals(run(1))).toBe(false);
  });
});

describe('temperature: Arrhenius drift acceleration and the conductance coefficient', () => {
  const K_B = 8.617333262e-5; // eV/K, written out here independently of the code
  /** PCM with drift only (one exponent per conductance, no spread) and a temperature section. */
  const warmProfile = (): DeviceProfile => {
    const p = structuredClone(loadProfile('pcm-nandakumar-2019'));
    p.programming.std = 0;
    p.readNoise = null;
    p.drift!.nuStd = 0;
    p.temperature = { reference: 300, driftActivationEnergy: 0.3, conductanceCoefficient: 0.002, sources: ['test'] };
    return p;
  };
  const read = (p: DeviceProfile, g: number, t: number, atReference = false) => {
    const dev = new DeviceModel(p);
    const target = tf.fill([4], g);
    const prog = dev.program(target, new RandomStream('temp/program'));
    const out = dev.conductanceAt(prog, t, new RandomStream('temp/read'), { atReference });
    const v = out.dataSync()[0]!;
    [target, out].forEach((x) => x.dispose());
    prog.dispose();
    return v;
  };

  it('at T the drift after t equals the drift after t·exp(Ea/k_B·(1/T_ref − 1/T)) at T_ref, times 1 + α·ΔT', () => {
    const p = warmProfile();
    const T = 358.15;
    const hot = atTemperature(p, T);
    expect(hot.name).toBe('pcm-nandakumar-2019@85C');
    const g = 10;
    const nu = PCM.nuMean(g / 25);
    const a = Math.exp((0.3 / K_B) * (1 / 300 - 1 / T));
    for (const t of [60, 86400, 31536000]) {
      const expected = g * ((a * t + 20) / 20) ** -nu * (1 + 0.002 * (T - 300));
      expect(read(hot, g, t) / expected - 1).toBeCloseTo(0, 5);
    }
    // At the reference temperature, and for the calibration read, nothing changes.
    expect(read(p, g, 86400) / (g * ((86400 + 20) / 20) ** -nu) - 1).toBeCloseTo(0, 5);
    expect(read(hot, g, 0, true)).toBeCloseTo(g, 4);
    expect(read(hot, g, 0)).toBeCloseTo(g * (1 + 0.002 * (T - 300)), 4);
  });

  it('colder than the reference, drift slows down', () => {
    const p = warmProfile();
    const cold = read(atTemperature(p, 250), 10, 31536000);
    expect(cold).toBeGreaterThan(read(p, 10, 31536000));
  });

  it('refuses a temperature for a profile without a temperature section, and a non-positive conductance factor', () => {
    expect(() => atTemperature(loadProfile('pcm-nandakumar-2019'), 358.15)).toThrow(
      /pcm-nandakumar-2019: the profile has no temperature section/,
    );
    const p = warmProfile();
    p.temperature!.conductanceCoefficient = -0.01;
    expect(() => atTemperature(p, 500)).toThrow(/conductance factor 1 \+ α·\(T − T_ref\) = -1 is not positive/);
  });

  it('parses temperatures with their unit only', () => {
    expect(parseTemperature('85C', '--temperature')).toBeCloseTo(358.15, 10);
    expect(parseTemperature('85°C', '--temperature')).toBeCloseTo(358.15, 10);
    expect(parseTemperature('300K', '--temperature')).toBe(300);
    expect(parseTemperature('-40C', '--temperature')).toBeCloseTo(233.15, 10);
    expect(() => parseTemperature('85', '--temperature')).toThrow(
      /--temperature: expected a temperature with its unit, e.g. 85C or 358.15K, got '85'/,
    );
    expect(() => parseTemperature('-300C', '--temperature')).toThrow(/above 0 K/);
  });
});

describe('write-verify programming', () => {
  const N = 200_000;
  const profile = (iterations: number, tolerance: number): DeviceProfile => {
    const p = structuredClone(loadProfile('pcm-nandakumar-2019'));
    p.programming.writeVerify = { iterations, tolerance };
    return p;
  };
  const errors = (p: DeviceProfile, g: number) => {
    const dev = new DeviceModel(p);
    const target = tf.fill([N], g);
    const prog = dev.program(target, new RandomStream('wv/program'));
    const e = Float64Array.from(prog.gProg.dataSync(), (v) => v - g);
    target.dispose();
    prog.dispose();
    return e;
  };

  it('the error after verify matches its closed form: a truncated normal with prob 1 − q^(n−1), else one unconditioned pulse', () => {
    const g = 12.5;
    const sigma = PCM.progStd(0.5);
    const [n, tau] = [5, 0.5];
    const a = tau / sigma;
    const q = 2 * (1 - phi(a));
    const truncVar = sigma ** 2 * (1 - (2 * a * Math.exp(-(a * a) / 2)) / Math.sqrt(2 * Math.PI) / (2 * phi(a) - 1));
    const expectedVar = (1 - q ** (n - 1)) * truncVar + q ** (n - 1) * sigma ** 2;
    const e = errors(profile(n, tau), g);
    const m = moments(e);
    expect(Math.abs(m.mean)).toBeLessThan(5 * Math.sqrt(m.variance / N));
    expect(Math.abs(m.variance - expectedVar)).toBeLessThan(5 * Math.sqrt((m.m4 - m.variance ** 2) / N));
    // Within tolerance after n pulses: 1 − q^n (binomial standard error).
    const within = e.filter((v) => Math.abs(v) <= tau).length / N;
    const pw = 1 - q ** n;
    expect(Math.abs(within - pw)).toBeLessThan(5 * Math.sqrt((pw * (1 - pw)) / N));
    // Far narrower than one pulse's σ.
    expect(Math.sqrt(m.variance)).toBeLessThan(0.6 * sigma);
  });

  it('one iteration is plain programming, draw for draw; expected pulses follow (1 − q^n)/(1 − q)', () => {
    const plain = errors(loadProfile('pcm-nandakumar-2019'), 12.5);
    expect(Array.from(errors(profile(1, 0.5), 12.5))).toEqual(Array.from(plain));
    const dev = new DeviceModel(profile(5, 0.5));
    const q = 2 * (1 - phi(0.5 / PCM.progStd(0.5)));
    expect(dev.expectedPulses(12.5)).toBeCloseTo((1 - q ** 5) / (1 - q), 6);
    expect(new DeviceModel(profile(5, 1e5)).expectedPulses(12.5)).toBeCloseTo(1, 9);
    expect(new DeviceModel(profile(7, 1e-9)).expectedPulses(12.5)).toBeCloseTo(7, 6);
  });
});
