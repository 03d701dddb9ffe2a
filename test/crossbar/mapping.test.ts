import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from '../../src/tensor/backend.js';
import { DeviceModel } from '../../src/device/model.js';
import { loadProfile } from '../../src/device/profile.js';
import { relativeWeightNoise } from '../../src/crossbar/mapping.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

describe('relativeWeightNoise', () => {
  it('grows with time without compensation and is a deterministic function of t', () => {
    const dev = new DeviceModel(loadProfile('pcm-nandakumar-2019'));
    const a = relativeWeightNoise(dev, 1, { compensate: false });
    const b = relativeWeightNoise(dev, 31536000, { compensate: false });
    expect(b).toBeGreaterThan(a);
    expect(relativeWeightNoise(new DeviceModel(loadProfile('pcm-nandakumar-2019')), 3600)).toBe(relativeWeightNoise(dev, 3600));
  });

  it('is zero on the ideal device and compensation helps under PCM drift', () => {
    expect(relativeWeightNoise(new DeviceModel(loadProfile('ideal')), 86400)).toBeLessThan(1e-6);
    const dev = new DeviceModel(loadProfile('pcm-nandakumar-2019'));
    expect(relativeWeightNoise(dev, 31536000, { compensate: true })).toBeLessThan(
      relativeWeightNoise(dev, 31536000, { compensate: false }),
    );
  });
});
