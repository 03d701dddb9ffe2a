import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendName, backendBanner } from '../../src/tensor/backend.js';
import { matMulT, batchMatMulGradConfig } from '../../src/tensor/matmul-grad.js';

describe('backend selection', () => {
  it('rejects unknown backend names, naming the origin', () => {
    expect(() => parseBackendName('gpu', '--backend')).toThrow(/--backend: unknown backend 'gpu' \(expected one of tensorflow, aimc, wasm, cpu\)/);
  });

  it('selects aimc by default where the native kernels load (else wasm) when tfjs-node is absent, and says why tensorflow was skipped', async () => {
    const name = await initBackend();
    expect(tf.getBackend()).toBe(name);
    const forced = process.env.AIMC_BACKEND;
    if (forced) return expect(name).toBe(forced); // npm run test:wasm / test:cpu
    if (name === 'tensorflow') return;
    expect(name).toBe(nativeAddon() ? 'aimc' : 'wasm');
    expect(backendBanner()).toMatch(/^backend: (aimc|wasm), native kernels (avx2 x\d+|scalar x\d+|off: .+) \(tensorflow unavailable: .+\)$/);
  });

  it('honours an explicit request', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});

import { Transformer } from '../../src/model/transformer.js';
import { defaultConfig } from '../../src/model/config.js';
import { nativeAddon } from '../../src/tensor/kernels/index.js';

describe.runIf(nativeAddon() !== null)('the aimc backend (cpu storage, native kernels)', () => {
  it("runs a transformer and its gradients to the wasm backend's results", async () => {
    const cfg = { ...defaultConfig('encoder'), vocabSize: 30, hiddenSize: 16, numHeads: 2, intermediateSize: 32, numLayers: 2, maxPositions: 12, numLabels: 3, dropout: 0 };
    const ids = Int32Array.from([0, 5, 6, 7, 2, 1, 0, 9, 8, 2, 1, 1]);
    const mask = Float32Array.from(ids, (t) => (t === 1 ? 0 : 1));
    const run = async (backend: string) => {
      expect(await initBackend(backend)).toBe(backend);
      const m = new Transformer(cfg, 'aimc-backend');
      const batch = { ids, mask, B: 2, T: 6 };
      const logits = Array.from(m.classify(batch).dataSync());
      const vars = m.variables();
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(m.classify(batch))) as tf.Scalar, vars);
      const g = Array.from(grads[vars[3]!.name]!.dataSync());
      m.dispose();
      return { logits, g };
    };
    const a = await run('aimc');
    expect(backendBanner()).toMatch(/^backend: aimc, native kernels/);
    const b = await run('wasm');
    a.logits.forEach((v, i) => expect(Math.abs(v - b.logits[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(b.logits[i]!))));
    a.g.forEach((v, i) => expect(Math.abs(v - b.g[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(b.g[i]!))));
  });

  it('recycles kernel outputs, but never a buffer someone still sees: a dataSync() array, or a slice viewing it', async () => {
    await initBackend('aimc');
    const backend = tf.backend() as unknown as { pooledByteCount(): number };
    const n = 1 << 15; // 128 KB: above the pool's threshold
    const x = tf.fill([n], 1);
    const y = tf.fill([n], 2);
    // A native output, disposed: it goes to the pool and the next output of its size reuses it.
    tf.add(x, y).dispose();
    const pooled = backend.pooledByteCount();
    expect(pooled).toBeGreaterThanOrEqual(4 * n);
    const reuse = tf.add(x, y);
    expect(backend.pooledByteCount()).toBe(pooled - 4 * n);
    reuse.dispose();
    // Read by the caller, then disposed: the array is the caller's now.
    // After each disposal, more outputs of the same size (7s): none may land in the buffer still seen.
    const more = () => Array.from({ length: 6 }, () => tf.mul(x, 7));
    const seen = tf.add(x, y);
    const values = seen.dataSync();
    seen.dispose();
    const later = more();
    expect(values.every((v) => v === 3)).toBe(true);
    const viewed = tf.add(x, y); // a native output the slice below views (cpu's simple slice is a subarray)
    const slice = tf.slice(viewed, [0], [n / 2]);
    viewed.dispose();
    const evenLater = more();
    expect(Array.from(slice.dataSync()).every((v) => v === 3)).toBe(true);
    [...later, ...evenLater, x, y, slice].forEach((t) => t.dispose());
  });
});

describe('BatchMatMul gradient from explicit transposes', () => {
  it('is the registered gradient once a backend is initialized', async () => {
    await initBackend('cpu');
    expect(tf.getGradient(tf.BatchMatMul)).toBe(batchMatMulGradConfig);
  });

  // Compare against gradients derived by hand from y = op(a)·op(b), on both backends.
  for (const backend of ['cpu', 'wasm']) {
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      it(`${backend}: transposeA=${tA} transposeB=${tB}`, async () => {
        await initBackend(backend);
        const a = tf.randomNormal(tA ? [5, 3] : [3, 5], 0, 1, 'float32', 1);
        const b = tf.randomNormal(tB ? [4, 5] : [5, 4], 0, 1, 'float32', 2);
        const dy = tf.randomNormal([3, 4], 0, 1, 'float32', 3);
        const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, tA, tB), dy));
        const [ga, gb] = tf.grads(f)([a, b]);
        const A = tA ? tf.transpose(a) : a;
        const Bm = tB ? tf.transpose(b) : b;
        // d/dA = dy·Bᵀ, d/dB = Aᵀ·dy, mapped back through the transposes.
        const dA = tf.matMul(dy, tf.transpose(Bm));
        const dB = tf.matMul(tf.transpose(A), dy);
        const expA = tA ? tf.transpose(dA) : dA;
        const expB = tB ? tf.transpose(dB) : dB;
        expect(ga!.shape).toEqual(a.shape);
        expect(gb!.shape).toEqual(b.shape);
        const ea = tf.max(tf.abs(tf.sub(ga!, expA))).dataSync()[0]!;
        const eb = tf.max(tf.abs(tf.sub(gb!, expB))).dataSync()[0]!;
        expect(ea).toBeLessThan(1e-5);
        expect(eb).toBeLessThan(1e-5);
      });
    }
  }

  it('matMulT equals matMul with flags', async () => {
    await initBackend('cpu');
    const a = tf.randomNormal([6, 4], 0, 1, 'float32', 4);
    const b = tf.randomNormal([5, 6], 0, 1, 'float32', 5);
    const d = tf.max(tf.abs(tf.sub(matMulT(a, b, true, true), tf.matMul(a, b, true, true)))).dataSync()[0]!;
    expect(d).toBeLessThan(1e-5);
  });
});
