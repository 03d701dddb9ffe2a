import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { createSite } from '../../src/model/linear.js';
import { RandomStream } from '../../src/tensor/random.js';
import { DeviceModel } from '../../src/device/model.js';
import { loadProfile, withNoiseScale } from '../../src/device/profile.js';
import { chipStorageFor, deviceStateBytes, ProgrammedModel, programmedWeight } from '../../src/deploy/analog-sites.js';
import { Deployment, type DeploySpec } from '../../src/deploy/deployment.js';
import { defaultAnalogSites } from '../../src/model/sites.js';
import { runTrials } from '../../src/deploy/trials.js';
import { summarizeByTime } from '../../src/deploy/summary.js';
import { meanStd } from '../../src/stats/summary.js';
import { formatDuration } from '../../src/input/values.js';
import { cli } from '../helpers/cli.js';
import { tinyEncoderOnDisk } from '../helpers/tiny.js';
import { relativeWeightNoise } from '../../src/crossbar/mapping.js';

let modelDir: string;
let dataFile: string;
let adapterDir: string;
const PCM = () => new DeviceModel(loadProfile('pcm-nandakumar-2019'));

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
  ({ modelDir, dataFile } = await tinyEncoderOnDisk('aimc-deploy-'));
  adapterDir = join(mkdtempSync(join(tmpdir(), 'aimc-dep-ad-')), 'grasp');
  const r = await cli(
    'finetune',
    '--model',
    modelDir,
    '--task',
    dataFile,
    '--adapter',
    'grasp',
    '--config',
    '{"groups": 4, "placement": "merged"}',
    '--steps',
    '60',
    '--batch',
    '8',
    '--lr',
    '1e-2',
    '--warmup',
    '4',
    '--eval-every',
    '30',
    '--out',
    adapterDir,
  );
  if (r.code !== 0) throw new Error(r.err);
});

/** Mean |y| of a fixed input through one programmed site read at t. */
function outputMagnitude(chip: ProgrammedModel, x: tf.Tensor2D, t: number, rng: RandomStream, compensate: boolean): number {
  chip.readAt(t, rng.child('t', t), { compensate });
  return tf.tidy(() => tf.mean(tf.abs(chip.sites[0]!.apply(x))).dataSync()[0]!);
}

describe('programmed sites', () => {
  it('merged adapter updates are part of what gets programmed', () => {
    const site = createSite('s', 'attn.q', 4, 3, new RandomStream('pw'), 'pw/');
    site.hooks.push({ weightDelta: () => tf.fill([4, 3], 0.5) as tf.Tensor2D });
    const W = programmedWeight(site);
    const expected = tf.add(site.weight, 0.5).dataSync();
    expect(Array.from(W.dataSync())).toEqual(Array.from(expected));
    W.dispose();
  });

  it('a streamed chip (devices re-programmed site by site at each read) computes exactly what a held chip does', () => {
    const sites = [0, 1].map((i) => createSite(`s${i}`, 'ffn.in', 600, 40, new RandomStream(`st${i}`), 'st/', 0.2)); // two row tiles each
    const x = tf.tidy(() => tf.randomUniform([8, 600], -1, 1, 'float32', 3) as tf.Tensor2D);
    const run = (storage: 'hold' | 'stream') => {
      const chip = ProgrammedModel.program(sites, PCM(), new RandomStream('chip').child('program'), storage);
      expect(chip.storage).toBe(storage);
      const out = [1, 86400].flatMap((t) => {
        chip.readAt(t, new RandomStream('chip').child('t', t));
        return sites.map((s) => Array.from(tf.tidy(() => s.apply(x).dataSync())));
      });
      const gdc = chip.gdcFactors();
      chip.dispose();
      return { out, gdc };
    };
    const n0 = tf.memory().numTensors;
    const held = run('hold');
    const streamed = run('stream');
    expect(streamed.out).toEqual(held.out);
    expect(streamed.gdc).toEqual(held.gdc);
    expect(tf.memory().numTensors).toBe(n0);
    // Different reads differ (the comparison is not of constants).
    expect(held.out[0]).not.toEqual(held.out[2]);
    x.dispose();
  });

  it('chooses streaming when the devices would not fit a quarter of the engine', () => {
    const small = [createSite('a', 'ffn.in', 8, 8, new RandomStream('cs'), 'cs/')];
    expect(chipStorageFor(small, PCM())).toBe('hold');
    // 3 float32 arrays per conductance, 2 conductances per weight (differential PCM).
    expect(deviceStateBytes(small, PCM())).toBe(64 * 2 * 3 * 4);
  });

  it('PCM drift is monotone in expectation: output magnitude falls with t (no compensation), GDC holds it', () => {
    const site = createSite('s', 'ffn.in', 64, 64, new RandomStream('drift'), 'drift/', 0.2);
    const x = tf.tidy(() => tf.randomUniform([32, 64], -1, 1, 'float32', 7) as tf.Tensor2D);
    const times = [1, 3600, 86400, 31536000];
    const trials = 6;
    const raw = times.map(() => 0);
    const comp = times.map(() => 0);
    for (let k = 0; k < trials; k++) {
      const rng = new RandomStream(`drift/${k}`);
      const chip = ProgrammedModel.program([site], PCM(), rng.child('program'));
      times.forEach((t, i) => {
        raw[i]! += outputMagnitude(chip, x, t, rng, false) / trials;
        comp[i]! += outputMagnitude(chip, x, t, rng, true) / trials;
      });
      chip.dispose();
    }
    for (let i = 1; i < times.length; i++) expect(raw[i]!).toBeLessThan(raw[i - 1]!);
    // ν ≈ 0.05 over (1 y / 20 s): about a 55 % fall without compensation, within a few % with it.
    expect(raw[3]! / raw[0]!).toBeLessThan(0.7);
    expect(Math.abs(comp[3]! / comp[0]! - 1)).toBeLessThan(0.1);
    x.dispose();
  });

  it('every time of a trial reads the same programmed devices', () => {
    // Errors at 1 h and 1 d of one chip are correlated (same programming error and ν; read noise and
    // ν spread decorrelate them partly, measured ≈ 0.6);
    // errors of two chips are not.
    const site = createSite('s', 'ffn.in', 64, 64, new RandomStream('same'), 'same/', 0.2);
    const ideal = site.weight.dataSync();
    const errorAt = (chip: ProgrammedModel, t: number, rng: RandomStream) => {
      chip.readAt(t, rng.child('t', t), { compensate: true });
      const [w] = chip.effectiveWeights();
      const y = w!.dataSync();
      w!.dispose();
      return Array.from(y, (v, i) => v - ideal[i]!);
    };
    const corr = (a: number[], b: number[]) => {
      const ma = meanStd(a).mean;
      const mb = meanStd(b).mean;
      let sab = 0,
        saa = 0,
        sbb = 0;
      a.forEach((v, i) => ((sab += (v - ma) * (b[i]! - mb)), (saa += (v - ma) ** 2), (sbb += (b[i]! - mb) ** 2)));
      return sab / Math.sqrt(saa * sbb);
    };
    const rngA = new RandomStream('chipA');
    const rngB = new RandomStream('chipB');
    const A = ProgrammedModel.program([site], PCM(), rngA.child('program'));
    const B = ProgrammedModel.program([site], PCM(), rngB.child('program'));
    const a1 = errorAt(A, 3600, rngA);
    const a2 = errorAt(A, 86400, rngA);
    const b1 = errorAt(B, 3600, rngB);
    // 4096 pairs: the std of a correlation estimate of independent series is 1/64.
    expect(corr(a1, a2)).toBeGreaterThan(0.4);
    expect(Math.abs(corr(a1, b1))).toBeLessThan(5 / 64);
    A.dispose();
    B.dispose();
  });

  it('noise scale multiplies programming and read noise, not drift', () => {
    const p = loadProfile('pcm-nandakumar-2019');
    const s = withNoiseScale(p, 2);
    expect(s.scales.programming).toBe(2 * p.scales.programming);
    expect(s.scales.read).toBe(2 * p.scales.read);
    expect(s.scales.drift).toBe(p.scales.drift);
    expect(relativeWeightNoise(new DeviceModel(s), 3600)).toBeGreaterThan(1.5 * relativeWeightNoise(new DeviceModel(p), 3600));
    expect(() => withNoiseScale(p, -1)).toThrow(/noise scale/);
  });
});

describe('deployments', () => {
  const spec = (): DeploySpec => ({
    model: modelDir,
    adapter: adapterDir,
    task: dataFile,
    device: 'pcm-nandakumar-2019',
    times: [1, 86400, 31536000],
    seed: 'dep',
    evalLimit: 20,
    seqLen: 8,
  });

  it('trials on worker threads give exactly the in-process results, ordered by trial and time', async () => {
    const local = await runTrials(spec(), [0, 1, 2], { workers: 1 });
    const pooled = await runTrials(spec(), [0, 1, 2], { workers: 2 });
    expect(pooled).toEqual(local);
    expect(local.map((r) => [r.trial, r.t])).toEqual([
      [0, 1],
      [0, 86400],
      [0, 31536000],
      [1, 1],
      [1, 86400],
      [1, 31536000],
      [2, 1],
      [2, 86400],
      [2, 31536000],
    ]);
    // Different trials are different chips.
    const dep = await Deployment.load(spec());
    expect(dep.runTrial(0)).toEqual(local.slice(0, 3));
    dep.dispose();
  });

  it('a profile with calibrated ADC ranges calibrates each trial chip on training examples, then reads as usual', async () => {
    const prof = structuredClone(loadProfile('pcm-nandakumar-2019'));
    prof.name = 'pcm-calibrated';
    prof.periphery.adc = { ...prof.periphery.adc, bits: 6, calibration: { quantile: 0.999 } };
    const file = join(mkdtempSync(join(tmpdir(), 'aimc-cal-')), 'pcm-calibrated.json');
    writeFileSync(file, JSON.stringify(prof));
    const dep = await Deployment.load({ ...spec(), device: file });
    const calibration = dep.calibrationExamples();
    expect(calibration.length).toBeGreaterThan(0);
    // Never the evaluated examples.
    const evaluated = new Set(dep.examples.map((e) => e.text));
    expect(calibration.some((e) => evaluated.has(e.text) && dep.data.train.length === 0)).toBe(false);
    const a = dep.runTrial(0);
    expect(dep.runTrial(0)).toEqual(a);
    for (const r of a) for (const v of Object.values(r.metrics)) expect(Number.isFinite(v)).toBe(true);
    // By hand: a held chip calibrates and reads; a streamed one refuses, naming why.
    const sites = defaultAnalogSites(dep.model);
    const chip = ProgrammedModel.program(sites, dep.device, new RandomStream('cal'), 'hold');
    chip.calibrate(() => dep.runner.evaluate(calibration));
    chip.readAt(1, new RandomStream('cal-read'));
    chip.dispose();
    const streamed = ProgrammedModel.program(sites, dep.device, new RandomStream('cal'), 'stream');
    expect(() => streamed.calibrate(() => undefined)).toThrow(/needs the chip's devices in memory/);
    streamed.dispose();
    dep.dispose();
  });

  it('refuses a bad adapter, device or task before any work', async () => {
    await expect(Deployment.load({ ...spec(), adapter: modelDir })).rejects.toThrow(/not an adapter folder/);
    await expect(Deployment.load({ ...spec(), device: 'pcm-nope' })).rejects.toThrow(/unknown device 'pcm-nope'/);
    await expect(Deployment.load({ ...spec(), adapter: null })).rejects.toThrow(/no task head/);
  });

  it('summaries: mean and sample std per time; durations print in readable units', () => {
    const rs = [0, 1, 2].flatMap((trial) =>
      [1, 10].map((t) => ({ trial, t, metrics: { accuracy: t === 1 ? [0.5, 0.7, 0.9][trial]! : 1 } })),
    );
    const s = summarizeByTime(rs, 'accuracy');
    expect(s[0]!.mean).toBeCloseTo(0.7, 12);
    expect(s[0]!.std).toBeCloseTo(0.2, 12);
    expect(s[1]).toEqual({ t: 10, mean: 1, std: 0, trials: 3 });
    expect([1, 3600, 86400, 31536000, 315360000, 90].map(formatDuration)).toEqual(['1s', '1h', '1d', '1y', '10y', '90s']);
  });

  it('aimc deploy --json prints {t, mean, std, digital} per time and writes the full JSON', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'aimc-dep-out-')), 'd.json');
    const r = await cli(
      'deploy',
      '--model',
      modelDir,
      '--adapter',
      adapterDir,
      '--task',
      dataFile,
      '--device',
      'pcm-nandakumar-2019',
      '--times',
      '1s,1y',
      '--trials',
      '2',
      '--workers',
      '1',
      '--eval-limit',
      '20',
      '--seq',
      '8',
      '--out',
      out,
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as { t: number; mean: number; std: number; digital: number }[];
    expect(rows.map((x) => x.t)).toEqual([1, 31536000]);
    for (const x of rows) {
      expect(Object.keys(x).sort()).toEqual(['digital', 'mean', 'std', 't']);
      expect(x.mean).toBeGreaterThanOrEqual(0);
      expect(x.mean).toBeLessThanOrEqual(1);
    }
    const full = JSON.parse(readFileSync(out, 'utf8')) as { trials: unknown[]; metric: string };
    expect(full.metric).toBe('accuracy');
    expect(full.trials).toHaveLength(4);
  });
});
