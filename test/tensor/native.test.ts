/**
 * Native kernels vs references. When the install step could not build the addon (no
 * compiler) or AIMC_NATIVE=0, the native-only checks are replaced by checks that the
 * fallback is in place — never silently skipped: a built addon that fails to load fails.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import {
  nativeAddon,
  nativeBuildStatus,
  nativeKernelsInstalled,
  installNativeKernels,
  uninstallNativeKernels,
  nativeUnavailableReason,
} from '../../src/tensor/native.js';
import { RandomStream } from '../../src/tensor/random.js';

const disabled = process.env.AIMC_NATIVE === '0';
const status = nativeBuildStatus();
const expectNative = !disabled && status?.built !== false;

beforeAll(async () => {
  await initBackend('wasm');
});

/** Naive float64 reference of op(a)·op(b). */
function reference(M: number, N: number, K: number, a: Float32Array, b: Float32Array, tA: boolean, tB: boolean): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (tA ? a[k * M + i]! : a[i * K + k]!) * (tB ? b[j * K + k]! : b[k * N + j]!);
      c[i * N + j] = s;
    }
  }
  return c;
}

describe('native kernel availability', () => {
  it(expectNative ? 'the addon loads and is registered for wasm' : 'falls back cleanly when the addon is unavailable', () => {
    if (expectNative) {
      expect(nativeAddon(), `addon not loaded: ${nativeUnavailableReason()}`).not.toBeNull();
      expect(nativeKernelsInstalled()).toBe(true);
      expect(['avx2', 'scalar']).toContain(nativeAddon()!.info().isa);
    } else {
      expect(nativeAddon()).toBeNull();
      expect(nativeKernelsInstalled()).toBe(false);
      expect(nativeUnavailableReason()).toMatch(disabled ? /AIMC_NATIVE=0/ : /not built/);
    }
  });
});

describe.runIf(expectNative)('native SGEMM', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 13, 5],
    [513, 1025, 3],
    [3, 1025, 513],
    [64, 1024, 512],
    [127, 129, 131],
    [6, 16, 0],
  ];
  for (const [M, N, K] of shapes) {
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      it(`${M}x${N}x${K} transA=${tA} transB=${tB}`, () => {
        const rng = new RandomStream(`sgemm/${M}/${N}/${K}`);
        const a = rng.normal(M * K);
        const b = rng.normal(K * N);
        const want = reference(M, N, K, a, b, tA, tB);
        for (const beta of [false, true]) {
          const c = rng.normal(M * N);
          const c0 = c.slice();
          nativeAddon()!.sgemm(M, N, K, a, b, c, tA, tB, beta);
          // Float32 accumulation of K products of N(0,1) entries: error ~ K·eps·sqrt(K).
          const tol = 4 * Math.max(K, 1) * 1.2e-7 * Math.sqrt(Math.max(K, 1)) + 1e-6;
          let worst = 0;
          for (let i = 0; i < M * N; i++) worst = Math.max(worst, Math.abs(c[i]! - (want[i]! + (beta ? c0[i]! : 0))));
          expect(worst).toBeLessThan(tol);
        }
      });
    }
  }

  it('rejects arrays too short for the shape', () => {
    expect(() => nativeAddon()!.sgemm(4, 4, 4, new Float32Array(15), new Float32Array(16), new Float32Array(16), false, false, false)).toThrow(/too short/);
    expect(() => nativeAddon()!.sgemm(4, 4, 4, new Float64Array(16) as unknown as Float32Array, new Float32Array(16), new Float32Array(16), false, false, false)).toThrow(/Float32Array/);
  });
});

describe.runIf(expectNative)('native kernels inside tfjs (wasm) agree with the original kernels', () => {
  const compare = (f: () => tf.Tensor) => {
    const withNative = f();
    uninstallNativeKernels();
    const original = f();
    installNativeKernels();
    const scale = tf.max(tf.abs(original)).dataSync()[0]! + 1e-6;
    const err = tf.max(tf.abs(tf.sub(withNative, original))).dataSync()[0]!;
    expect(withNative.shape).toEqual(original.shape);
    expect(err / scale).toBeLessThan(1e-5);
  };
  const t = (shape: number[], seed: string) => tf.tensor(new RandomStream(seed).normal(shape.reduce((a, b) => a * b, 1)), shape);

  it('rank 2 with every transpose combination', () => {
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      const a = t(tA ? [37, 21] : [21, 37], 'a');
      const b = t(tB ? [19, 37] : [37, 19], 'b');
      compare(() => tf.matMul(a, b, tA, tB));
    }
  });

  it('rank 3, equal and broadcast batches', () => {
    compare(() => tf.matMul(t([4, 9, 33], 'x'), t([4, 33, 17], 'y')));
    compare(() => tf.matMul(t([4, 9, 33], 'x'), t([33, 17], 'w')));
    compare(() => tf.matMul(t([1, 9, 33], 'x'), t([3, 33, 17], 'y'), false, false));
  });

  it('fused matMul with bias and activations', () => {
    const a = t([24, 40], 'fa');
    const b = t([40, 30], 'fb');
    const bias = t([30], 'fbias');
    for (const activation of ['linear', 'relu', 'relu6', 'sigmoid', 'leakyrelu', 'elu'] as const) {
      compare(() => tf.fused.matMul({ a, b, bias, activation, leakyreluAlpha: 0.1 }));
    }
    compare(() => tf.fused.matMul({ a, b, bias, activation: 'prelu', preluActivationWeights: t([30], 'alpha') }));
  });

  it('gradients through matMul stay correct', () => {
    const a = t([8, 12], 'ga');
    const b = t([12, 5], 'gb');
    const dy = t([8, 5], 'gdy');
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), dy)))([a, b]);
    const wantA = tf.matMul(dy, tf.transpose(b));
    const wantB = tf.matMul(tf.transpose(a), dy);
    expect(tf.max(tf.abs(tf.sub(ga!, wantA))).dataSync()[0]!).toBeLessThan(1e-4);
    expect(tf.max(tf.abs(tf.sub(gb!, wantB))).dataSync()[0]!).toBeLessThan(1e-4);
  });

  it('uninstall restores the original kernel configs', () => {
    const mine = tf.getKernel(tf.BatchMatMul, 'wasm');
    uninstallNativeKernels();
    const orig = tf.getKernel(tf.BatchMatMul, 'wasm');
    expect(orig).not.toBe(mine);
    expect(nativeKernelsInstalled()).toBe(false);
    installNativeKernels();
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).not.toBe(orig);
  });
});

describe.runIf(expectNative)('native sampler reproduces the JS streams', () => {
  it('normal(): identical bits to the JS ziggurat over 4M draws', () => {
    const a = new RandomStream('same/normal');
    const b = new RandomStream('same/normal');
    const viaNative = a.normal(new Float32Array(4_000_000));
    const viaJs = b.normalJS(new Float32Array(4_000_000));
    expect(Buffer.from(viaNative.buffer).equals(Buffer.from(viaJs.buffer))).toBe(true);
    // The states advanced identically too.
    expect(a.state()).toEqual(b.state());
  });

  it('uniform(): identical to the JS loop (small arrays take the JS path)', () => {
    const viaNative = new RandomStream('same/u').uniform(new Float32Array(100_000));
    const s = new RandomStream('same/u');
    const viaJs = new Float32Array(100_000);
    for (let i = 0; i < viaJs.length; i += 100) s.uniform(viaJs.subarray(i, i + 100));
    expect(Buffer.from(viaNative.buffer).equals(Buffer.from(viaJs.buffer))).toBe(true);
  });
});
