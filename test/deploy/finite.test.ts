/** A non-finite conductance, output or metric stops the run, naming the device, the site and the time. */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { createSite } from '../../src/model/linear.js';
import { RandomStream } from '../../src/tensor/random.js';
import { DeviceModel } from '../../src/device/model.js';
import { loadProfile } from '../../src/device/profile.js';
import { conductanceStats } from '../../src/crossbar/device-stats.js';
import { ProgrammedModel } from '../../src/deploy/analog-sites.js';
import { NonFiniteError } from '../../src/input/finite.js';
import { aggregate } from '../../src/report/aggregate.js';
import type { ResultLine } from '../../src/experiment/store.js';
import type { DeviceProfile } from '../../src/device/types.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

/** A profile that would not validate: read noise NaN beyond 2·gMax, and programming noise that puts devices there. */
function hostile(kind: 'nan-read' | 'inf-read' | 'nan-drift'): DeviceModel {
  const p = structuredClone(loadProfile('pcm-nandakumar-2019')) as DeviceProfile;
  p.name = `hostile-${kind}`;
  p.programming = { ...p.programming, std: '40' };
  if (kind === 'nan-read') p.readNoise = { ...p.readNoise!, q: '0.01 * sqrt(2 - rProg)' };
  if (kind === 'inf-read') p.readNoise = { ...p.readNoise!, q: '0.01 * exp(1000 * (rProg - 2))' };
  if (kind === 'nan-drift') p.drift = { ...p.drift!, nuMean: 'log(0.5 - r)' };
  return new DeviceModel(p);
}

describe('run-time finiteness', () => {
  for (const kind of ['nan-read', 'inf-read', 'nan-drift'] as const) {
    it(`${kind}: reading the chip stops with the device, the site and the time`, () => {
      const rng = new RandomStream(`finite/${kind}`);
      const site = createSite('encoder.0.ffn.in', 'ffn.in', 64, 32, rng.child('w'), `finite-${kind}/`);
      let err: unknown;
      try {
        // Programming already reads the devices once (t = 0, the drift-compensation reference).
        const chip = ProgrammedModel.program([site], hostile(kind), rng.child('program'));
        chip.readAt(3600, rng.child('read'));
        chip.dispose();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NonFiniteError);
      expect((err as Error).message).toMatch(new RegExp(`site encoder\\.0\\.ffn\\.in, device hostile-${kind}, t = (3600|0) s: \\d+ of 2048 programmed conductances are not finite`));
      site.weight.dispose();
      site.bias?.dispose();
    });
  }

  it('device statistics (device show) stop instead of printing NaN', () => {
    expect(() => conductanceStats(hostile('nan-read'), [0.9], [86400], 2000)).toThrow(/device hostile-nan-read, g = 0\.9·gMax, t = 86400 s: \w+ is NaN/);
  });

  it('a report refuses results that are not finite numbers', () => {
    const line = (value: unknown, key: string): ResultLine => ({ kind: 'result', key, adapter: 'a', plugin: 'grasp', seed: 's1', hwa: 'none', device: 'd', noiseScale: 1, t: 1, trial: 0, metric: 'accuracy', value, digital: 0.9 }) as unknown as ResultLine;
    expect(() => aggregate([line(0.8, 'k1'), line(0.7, 'k2')])).not.toThrow();
    for (const v of [NaN, null, Infinity, 'x']) expect(() => aggregate([line(0.8, 'k1'), line(v, 'bad')])).toThrow(/the result line 'bad' holds .* not a finite number/);
  });

  it('the valid built-in profiles read finite conductances at every time of a long deployment', () => {
    for (const name of ['pcm-nandakumar-2019', 'pcm-hermes-2023', 'rram-wan-2022']) {
      const rng = new RandomStream(`finite/ok/${name}`);
      const site = createSite('s', 'ffn.in', 64, 32, rng.child('w'), `finite-ok-${name}/`);
      const chip = ProgrammedModel.program([site], new DeviceModel(loadProfile(name)), rng.child('p'));
      for (const t of [1, 86400, 31536000 * 1000]) expect(() => chip.readAt(t, rng.child('t', t))).not.toThrow();
      chip.dispose();
      void tf;
    }
  });
});
