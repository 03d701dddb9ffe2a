import { describe, it, expect, beforeAll } from 'vitest';
import { availableParallelism } from 'node:os';
import { initBackend } from '../../src/tensor/backend.js';
import { installNativeMatMul, nativeMatMulActive, uninstallNativeMatMul } from '../../src/tensor/kernels/index.js';
import { defaultWorkers } from '../../src/deploy/trials.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

describe('default trial workers', () => {
  it('none with the native kernels (they use every core already); else one per core, never more than the trials', () => {
    const native = nativeMatMulActive();
    if (native) expect(defaultWorkers(8)).toBe(1);
    // Without the native kernels (uninstalled here if they are active): one per core.
    uninstallNativeMatMul();
    try {
      expect(nativeMatMulActive()).toBe(false);
      expect(defaultWorkers(1000)).toBe(availableParallelism());
      expect(defaultWorkers(1)).toBe(1);
    } finally {
      if (native) installNativeMatMul();
    }
    expect(nativeMatMulActive()).toBe(native);
  });
});
