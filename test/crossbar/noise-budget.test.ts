import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { atTemperature, loadProfile } from '../../src/device/profile.js';
import { DeviceModel } from '../../src/device/model.js';
import { RandomStream } from '../../src/tensor/random.js';
import { idealProfile, mvmError, noiseBudget, presentSources } from '../../src/crossbar/noise-budget.js';
import type { DeviceProfile } from '../../src/device/types.js';
import { cli } from '../helpers/cli.js';

beforeAll(async () => {
  await initBackend();
});

const PCM = loadProfile('pcm-nandakumar-2019');
const B = 64;
const R = 256;
const C = 256;

/** W[R, C] and x[B, R] ~ N(0, 1) from a test stream, with the numbers the closed forms need. */
function draw(seed: string) {
  const rng = new RandomStream(`budget-test/${seed}`);
  const w = rng.child('w').normal(R * C);
  const xs = rng.child('x').normal(B * R);
  const W = tf.tensor2d(w, [R, C]);
  const x = tf.tensor2d(xs, [B, R]);
  const ideal = tf.tidy(() => tf.sum(tf.square(tf.matMul(x, W))).dataSync()[0]!);
  // abs-max noise management: α_b = max_k |x_bk|; tile weight scaling: one max|W| (one tile).
  const alpha2 = Array.from({ length: B }, (_, b) => Math.max(...Array.from(xs.subarray(b * R, (b + 1) * R), Math.abs)) ** 2);
  const wMax = Math.max(...Array.from(w, Math.abs));
  const w2 = w.reduce((a, v) => a + v * v, 0);
  return { W, x, ideal, sumAlpha2: alpha2.reduce((a, v) => a + v, 0), wMax, w2, dispose: () => (W.dispose(), x.dispose()) };
}

describe('noise budget', () => {
  it('the ideal profile computes x·W (float32 rounding only)', () => {
    const d = draw('ideal');
    const e = mvmError(new DeviceModel(idealProfile(PCM)), d.W, d.x, 86400, new RandomStream('budget-test/ideal-chip'));
    expect(e).toBeLessThan(1e-5);
    d.dispose();
  });

  it('output noise alone matches its closed form σ·√(Σα²·C)·max|W| / ‖x·W‖', () => {
    const sigma = 0.06;
    const p: DeviceProfile = { ...idealProfile(PCM), periphery: { ...idealProfile(PCM).periphery, outputNoise: sigma } };
    const d = draw('out');
    const e = mvmError(new DeviceModel(p), d.W, d.x, 86400, new RandomStream('budget-test/out-chip'));
    const expected = (sigma * d.wMax * Math.sqrt(d.sumAlpha2 * C)) / Math.sqrt(d.ideal);
    // ‖noise‖² is χ² with B·C = 16384 degrees of freedom: relative sd of ‖noise‖ = 1/√(2·16384) = 0.55 %.
    expect(Math.abs(e / expected - 1)).toBeLessThan(4 * 0.0055);
    d.dispose();
  });

  it('DAC rounding alone matches uniform quantization error: α·√(step²/12)·‖W‖ per input row', () => {
    const bits = 6;
    const step = 1 / (2 ** bits - 2);
    const ideal = idealProfile(PCM);
    const p: DeviceProfile = { ...ideal, periphery: { ...ideal.periphery, dac: { bits, bound: 1 } } };
    const d = draw('dac');
    const e = mvmError(new DeviceModel(p), d.W, d.x, 86400, new RandomStream('budget-test/dac-chip'));
    const expected = Math.sqrt(((d.sumAlpha2 * (step * step)) / 12) * d.w2) / Math.sqrt(d.ideal);
    // 16384 rounding errors, each through 256 columns: a few per cent at most.
    expect(Math.abs(e / expected - 1)).toBeLessThan(0.04);
    d.dispose();
  });

  it('input noise alone matches σ_in·√(Σα²)·‖W‖ / ‖x·W‖', () => {
    const sigma = 0.05;
    const ideal = idealProfile(PCM);
    const p: DeviceProfile = { ...ideal, periphery: { ...ideal.periphery, inputNoise: sigma } };
    const d = draw('inp');
    const e = mvmError(new DeviceModel(p), d.W, d.x, 86400, new RandomStream('budget-test/inp-chip'));
    const expected = (sigma * Math.sqrt(d.sumAlpha2 * d.w2)) / Math.sqrt(d.ideal);
    // εᵀ(WWᵀ)ε over 64 rows of a 256 × 256 Gaussian W: relative sd of the norm ≈ 0.8 %.
    expect(Math.abs(e / expected - 1)).toBeLessThan(0.04);
    d.dispose();
  });

  it('a uniform output non-linearity bends y as y/(1 + n|y|) in normalized units, n = strength / ADC bound', () => {
    const strength = 0.8;
    const ideal = idealProfile(PCM);
    const bound = PCM.periphery.adc.bound;
    // An unbounded ideal ADC would make n = 0: keep the profile's ADC bound, unquantized.
    const p: DeviceProfile = {
      ...ideal,
      periphery: { ...ideal.periphery, adc: { bits: null, bound }, boundManagement: 'none', outputNonlinearity: { strength, std: 0 } },
    };
    const d = draw('nl');
    const e = mvmError(new DeviceModel(p), d.W, d.x, 86400, new RandomStream('budget-test/nl-chip'));
    const expected = tf.tidy(() => {
      const alpha = tf.max(tf.abs(d.x), 1, true);
      const v = tf.matMul(tf.div(d.x, alpha), tf.div(d.W, d.wMax));
      const bent = tf.minimum(tf.maximum(tf.div(v, tf.add(1, tf.mul(tf.abs(v), strength / bound))), -bound), bound);
      const y = tf.mul(tf.mul(bent, alpha), d.wMax);
      const ref = tf.matMul(d.x, d.W);
      return Math.sqrt(tf.sum(tf.square(tf.sub(y, ref))).dataSync()[0]! / tf.sum(tf.square(ref)).dataSync()[0]!);
    });
    expect(e).toBeGreaterThan(0.01);
    expect(Math.abs(e / expected - 1)).toBeLessThan(1e-3);
    d.dispose();
  });

  it('per-column drift compensation restores columns that drift uniformly; one factor per layer cannot', () => {
    const ideal = idealProfile(PCM);
    // Drift alone, with one exponent per conductance (no spread): every device of a column whose
    // weights share one |w| drifts by the same factor.
    const drifting: DeviceProfile = { ...ideal, drift: { ...PCM.drift!, nuStd: 0 } };
    const perColumn: DeviceProfile = { ...drifting, driftCompensation: { enabled: true, granularity: 'column' } };
    const rng = new RandomStream('budget-test/columns');
    const signs = rng.child('s').uniform(R * C);
    const w = Float32Array.from(signs, (u, k) => (u < 0.5 ? -1 : 1) * (0.1 + (0.9 * (k % C)) / C));
    const W = tf.tensor2d(w, [R, C]);
    const x = tf.tensor2d(rng.child('x').normal(B * R), [B, R]);
    const chip = new RandomStream('budget-test/columns-chip');
    const eLayer = mvmError(new DeviceModel(drifting), W, x, 31536000, chip);
    const eColumn = mvmError(new DeviceModel(perColumn), W, x, 31536000, chip);
    expect(eLayer).toBeGreaterThan(1e-3);
    expect(eColumn).toBeLessThan(1e-5);
    W.dispose();
    x.dispose();
  });

  it('input bit slicing: noise-free it computes the DAC-quantized x·W; output noise shrinks to σ·√Σ w_p² per pass weight w_p', () => {
    const ideal = idealProfile(PCM);
    const dac = { bits: 7, bound: 1 };
    const variant = (o: Partial<DeviceProfile['periphery']>): DeviceModel =>
      new DeviceModel({ ...ideal, periphery: { ...ideal.periphery, dac, ...o } });
    const d = draw('slice');
    const chip = () => new RandomStream('budget-test/slice-chip');
    const whole = mvmError(variant({}), d.W, d.x, 86400, chip());
    const sliced = mvmError(variant({ inputBitsPerPass: 3 }), d.W, d.x, 86400, chip());
    expect(Math.abs(sliced - whole)).toBeLessThan(1e-5);
    // 1 bit per pass, 7 passes of weight 2^p/126: Σ w_p² = (4^7 − 1)/3/126².
    const sigma = 0.06;
    const noisy = mvmError(variant({ outputNoise: sigma }), d.W, d.x, 86400, chip());
    const noisySliced = mvmError(variant({ outputNoise: sigma, inputBitsPerPass: 1 }), d.W, d.x, 86400, chip());
    const factor = Math.sqrt((4 ** 7 - 1) / 3) / 126;
    // Both are dominated by χ² noise over 16384 outputs (0.55 % each); DAC rounding (0.7 %) adds in quadrature.
    expect(Math.abs(noisySliced / noisy / factor - 1)).toBeLessThan(0.04);
    // A sliced profile's budget: its ideal variant (no DAC levels) reads in one pass.
    const lines = noiseBudget(
      { ...PCM, periphery: { ...PCM.periphery, inputBitsPerPass: 2 } },
      { rows: 32, cols: 16, t: 60, samples: 4, trials: 1, seed: 'b' },
    );
    expect(lines.map((l) => l.source)).toContain('dac');
    d.dispose();
  });

  it('lists the sources a profile has, then all; a source alone is on the same streams as all', () => {
    const o = { rows: 64, cols: 64, t: 86400, samples: 8, trials: 3, seed: 'budget-test' };
    const lines = noiseBudget(PCM, o);
    expect(lines.map((l) => l.source)).toEqual(['programming', 'drift', 'readNoise', 'dac', 'adc', 'outputNoise', 'all']);
    for (const l of lines) {
      expect(l.relativeError).toBeGreaterThan(0);
      expect(l.standardError).toBeGreaterThan(0);
    }
    // A profile with one source on (output noise; the ideal ADC is "present" only as the
    // identity): that source's line is the profile's `all` line, draw for draw.
    const ideal = idealProfile(PCM);
    const one: DeviceProfile = { ...ideal, name: 'one', periphery: { ...ideal.periphery, outputNoise: 0.1 } };
    expect(presentSources(one).map((s) => s.name)).toEqual(['adc', 'outputNoise']);
    const ln = noiseBudget(one, o);
    expect(ln.find((l) => l.source === 'outputNoise')!.relativeError).toBe(ln.find((l) => l.source === 'all')!.relativeError);
    expect(ln.find((l) => l.source === 'adc')!.relativeError).toBeLessThan(1e-5);
    // One trial: no spread to estimate.
    expect(noiseBudget(one, { ...o, trials: 1 }).every((l) => l.standardError === 0)).toBe(true);
  });

  it('drift grows with time; programming error does not', () => {
    const o = { rows: 64, cols: 64, samples: 8, trials: 2, seed: 'budget-test' };
    const at = (t: number) => Object.fromEntries(noiseBudget(PCM, { ...o, t }).map((l) => [l.source, l.relativeError]));
    const [a, b] = [at(60), at(31536000)];
    expect(b.drift!).toBeGreaterThan(2 * a.drift!);
    expect(b.programming).toBe(a.programming);
  });
});

describe('noise budget at a read temperature', () => {
  const warm = (): DeviceProfile => ({
    ...PCM,
    temperature: { reference: 300, driftActivationEnergy: 0.3, conductanceCoefficient: 0.003, sources: ['test'] },
  });
  const o = { rows: 64, cols: 64, t: 86400, samples: 8, trials: 2, seed: 'budget-test' };

  it('the conductance coefficient is its own source; the ideal profile still computes x·W; hotter drifts more', () => {
    const hot = atTemperature(warm(), 358.15);
    expect(presentSources(warm()).map((s) => s.name)).not.toContain('temperature');
    expect(presentSources(hot).map((s) => s.name)).toContain('temperature');
    const d = draw('temp-ideal');
    expect(mvmError(new DeviceModel(idealProfile(hot)), d.W, d.x, 86400, new RandomStream('budget-test/t'))).toBeLessThan(1e-5);
    d.dispose();
    const at = (p: DeviceProfile) => Object.fromEntries(noiseBudget(p, o).map((l) => [l.source, l.relativeError]));
    expect(at(hot).drift!).toBeGreaterThan(at(warm()).drift!);
  });

  it('aimc tile error --temperature refuses a profile without a temperature section', async () => {
    const r = await cli('tile', 'error', 'pcm-nandakumar-2019', '--temperature', '85C');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/pcm-nandakumar-2019: the profile has no temperature section/);
    const bare = await cli('device', 'show', 'pcm-nandakumar-2019', '--temperature', '85');
    expect(bare.err).toMatch(/expected a temperature with its unit/);
  });
});

describe('noise budget: IR drop', () => {
  const o = { t: 86400, samples: 16, trials: 2, seed: 'budget-test' };
  const withWires = (tile: number, r: number): DeviceProfile => ({
    ...PCM,
    name: `pcm-wires-${tile}-${r}`,
    tile: { rows: tile, cols: tile, irDrop: { rowSegment: r, colSegment: r } },
  });
  const irDrop = (p: DeviceProfile) => noiseBudget(p, o).find((l) => l.source === 'irDrop')!.relativeError;

  it('is a source only with wire resistance; its error grows with the array size and with the segment resistance', () => {
    expect(presentSources(PCM).map((s) => s.name)).not.toContain('irDrop');
    expect(presentSources(withWires(32, 0)).map((s) => s.name)).not.toContain('irDrop');
    const [small, mid, large] = [32, 64, 128].map((n) => irDrop(withWires(n, 1)));
    // Wire drop ∝ line length × the current it carries (∝ line length): about 4× per doubling.
    expect(mid!).toBeGreaterThan(2.5 * small!);
    expect(large!).toBeGreaterThan(2.5 * mid!);
    const [lo, hi] = [0.5, 2].map((r) => irDrop(withWires(64, r)));
    expect(hi!).toBeGreaterThan(3 * lo!);
  });

  it('the shipped pcm-hermes-2023-irdrop has a non-zero irDrop entry; pcm-hermes-2023 none', async () => {
    const r = await cli('tile', 'error', 'pcm-hermes-2023-irdrop', 'pcm-hermes-2023', '--samples', '8', '--trials', '1', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { device: string; source: string; relativeError: number }[];
    expect(j.find((l) => l.device === 'pcm-hermes-2023-irdrop' && l.source === 'irDrop')!.relativeError).toBeGreaterThan(0.01);
    expect(j.some((l) => l.device === 'pcm-hermes-2023' && l.source === 'irDrop')).toBe(false);
  });

  it('aimc tile error --tile compares tile sizes of one profile, each named profile@RxC', async () => {
    const r = await cli('tile', 'error', 'pcm-hermes-2023-irdrop', '--tile', '32,64x32', '--samples', '4', '--trials', '1', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { device: string; source: string; relativeError: number }[];
    expect([...new Set(j.map((l) => l.device))]).toEqual(['pcm-hermes-2023-irdrop@32x32', 'pcm-hermes-2023-irdrop@64x32']);
    const bad = await cli('tile', 'error', 'pcm-hermes-2023', '--tile', '0x4');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--tile rows: '0' is not an integer in \[1, 65536\]/);
  });
});

describe('aimc tile error', () => {
  it('--json: one {device, t, source, relativeError, standardError} per source and time', async () => {
    const r = await cli(
      'tile',
      'error',
      'rram-wan-2022',
      '--rows',
      '32',
      '--cols',
      '16',
      '--samples',
      '4',
      '--trials',
      '2',
      '--t',
      '1h,1y',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { device: string; t: number; source: string; relativeError: number; standardError: number }[];
    const sources = presentSources(loadProfile('rram-wan-2022')).map((s) => s.name);
    expect(j.map((l) => `${l.t}:${l.source}`)).toEqual([3600, 31536000].flatMap((t) => [...sources, 'all'].map((s) => `${t}:${s}`)));
    expect(j.every((l) => l.device === 'rram-wan-2022' && Number.isFinite(l.relativeError))).toBe(true);
  });

  it('refuses a bad profile before any work, naming the file', async () => {
    const r = await cli('tile', 'error', 'no-such-device');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/no-such-device/);
  });
});

describe('cost of input bit slicing', () => {
  it('P passes convert every output P times and take P tile MVMs; the DAC pulses are the same', async () => {
    const { mvmCost } = await import('../../src/crossbar/cost.js');
    const { tileGrid } = await import('../../src/crossbar/tiling.js');
    const grid = tileGrid(1000, 700, PCM.tile.rows, PCM.tile.cols);
    const plain = mvmCost(grid, new DeviceModel(PCM));
    // 7 DAC bits, 2 per pass: 4 passes.
    const sliced = mvmCost(grid, new DeviceModel({ ...PCM, periphery: { ...PCM.periphery, inputBitsPerPass: 2 } }));
    expect(sliced.adcConversions).toBe(4 * plain.adcConversions);
    expect(sliced.latency).toBe(4 * plain.latency);
    expect(sliced.dacConversions).toBe(plain.dacConversions);
    expect(sliced.energy - plain.energy).toBeCloseTo(3 * plain.adcConversions * PCM.cost.adcEnergy, 6);
  });
});
