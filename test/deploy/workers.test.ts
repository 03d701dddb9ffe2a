import { describe, it, expect, beforeAll } from 'vitest';
import { availableParallelism } from 'node:os';
import { initBackend } from '../../src/tensor/backend.js';
import { nativeMatMulActive } from '../../src/tensor/kernels/index.js';
import { defaultWorkers } from '../../src/deploy/trials.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

describe('default trial workers', () => {
  it('none with the native kernels (they use every core already); else one per core, never more than the trials', () => {
    if (nativeMatMulActive()) {
      expect(defaultWorkers(8)).toBe(1);
    } else {
      expect(defaultWorkers(1000)).toBe(availableParallelism());
    }
    expect(defaultWorkers(1)).toBe(1);
  });
});
