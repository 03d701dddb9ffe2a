/**
 * Native kernels vs references. Nothing is skipped silently: without a built addon every
 * native check fails and says so, unless AIMC_NATIVE=0, where only the fallback checks run
 * (and nativeAddon() must be null).
 */
import { readFileSync } from 'node:fs';
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  installNativeKernels,
  nativeAddon,
  nativeInfo,
  nativeKernelsInstalled,
  nativeUnavailableReason,
  uninstallNativeKernels,
  NATIVE_ACTIVATIONS,
  type NativeAddon,
} from '../../src/tensor/native.js';
import { RandomStream } from '../../src/tensor/random.js';

const disabled = process.env.AIMC_NATIVE === '0';
const EPS = 2 ** -23;

/** The addon, or a failure that says why it is missing. */
function lib(): NativeAddon {
  const l = nativeAddon();
  if (!l) {
    throw new Error(
      `native addon not built or not loadable (${nativeUnavailableReason()}): run \`node scripts/build-native.mjs\`, ` +
        'or set AIMC_NATIVE=0 to test only the tfjs fallback',
    );
  }
  return l;
}

/** CPU flags from /proc/cpuinfo (empty where there is none). */
function cpuFlags(): Set<string> {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

const original: Partial<Record<string, tf.KernelConfig>> = {};

beforeAll(async () => {
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
  original.bmm = tf.getKernel(tf.BatchMatMul, 'wasm');
  original.fused = tf.getKernel(tf._FusedMatMul, 'wasm');
  installNativeKernels();
});

const normal = (n: number, seed: string) => new RandomStream(`native-test/${seed}`).normal(n);
const tensor = (shape: number[], seed: string) => tf.tensor(normal(shape.reduce((a, b) => a * b, 1), seed), shape);
const maxAbs = (x: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
};

/** Naive float64 op(a)·op(b) for a [M,K] (or [K,M] when tA), b [K,N] (or [N,K] when tB). */
function reference(M: number, N: number, K: number, a: ArrayLike<number>, b: ArrayLike<number>, tA: boolean, tB: boolean): Float64Array {
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

const activationRef: Record<string, (v: number, alpha: number) => number> = {
  linear: (v) => v,
  relu: (v) => Math.max(v, 0),
  relu6: (v) => Math.min(Math.max(v, 0), 6),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  leakyrelu: (v, alpha) => (v < 0 ? alpha * v : v),
  elu: (v) => (v >= 0 ? v : Math.expm1(v)),
};

const TRANSPOSES = [[false, false], [false, true], [true, false], [true, true]] as const;

describe.runIf(!disabled)('native addon', () => {
  it('loads, and reports a vector kernel where the CPU has one', () => {
    const info = lib().info();
    expect(nativeInfo()).toEqual(info);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    const flags = cpuFlags();
    if (flags.has('avx512f')) expect(info.isa).toBe('avx512');
    else if (flags.has('avx2') && flags.has('fma')) expect(info.isa).toBe('avx2');
    else expect(['avx512', 'avx2', 'scalar']).toContain(info.isa);
    if (flags.has('avx2') && flags.has('fma')) expect(['avx2', 'avx512']).toContain(info.isa);
  });

  it('is registered for wasm in place of the original kernels', () => {
    lib();
    expect(nativeKernelsInstalled()).toBe(true);
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).not.toBe(original.bmm);
    expect(tf.getKernel(tf._FusedMatMul, 'wasm')).not.toBe(original.fused);
  });
});

describe.runIf(!disabled)('native SGEMM against a float64 reference', () => {
  // M x N x K; odd sizes exercise every partial register tile and cache block.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 13, 5],
    [513, 1025, 3],
    [3, 1025, 513],
    [64, 512, 1024],
    [64, 1024, 512],
    [127, 129, 131],
    [6, 16, 0],
  ];
  /** Every kernel this CPU can run (setIsa falls back to the best available). */
  const kernels = () => {
    const l = lib();
    const initial = l.info().isa;
    const all = new Set<string>();
    for (const isa of ['avx512', 'avx2', 'scalar'] as const) all.add(l.setIsa(isa));
    l.setIsa(initial as 'avx512');
    return { initial, all: [...all] };
  };

  for (const [M, N, K] of shapes) {
    it(`${M}x${N}x${K}, every transpose, beta 0 and 1, every kernel`, () => {
      const l = lib();
      const { initial, all } = kernels();
      const a = normal(M * K, `a${M}/${N}/${K}`);
      const b = normal(K * N, `b${M}/${N}/${K}`);
      const c0 = normal(M * N, `c${M}/${N}/${K}`);
      // Float32 sums of K products: error within a small multiple of K·eps·max|a|·max|b|.
      const tol = 2 * Math.max(K, 1) * EPS * maxAbs(a) * maxAbs(b) + 2 * EPS * maxAbs(c0) + 1e-30;
      try {
        for (const [tA, tB] of TRANSPOSES) {
          const want = reference(M, N, K, a, b, tA, tB);
          for (const isa of all) {
            l.setIsa(isa as 'avx512');
            for (const beta of [0, 1] as const) {
              const c = c0.slice();
              l.sgemm(M, N, K, a, b, c, tA, tB, beta);
              let worst = 0;
              for (let i = 0; i < M * N; i++) worst = Math.max(worst, Math.abs(c[i]! - (want[i]! + (beta ? c0[i]! : 0))));
              expect(worst, `${isa} transA=${tA} transB=${tB} beta=${beta}`).toBeLessThanOrEqual(tol);
            }
          }
        }
      } finally {
        l.setIsa(initial as 'avx512');
      }
    });
  }

  it('AVX2 and AVX-512 kernels give identical bits; so do sgemm and sgemmBatched', () => {
    const l = lib();
    const [M, N, K] = [37, 71, 600];
    const a = normal(3 * M * K, 'bits-a');
    const b = normal(K * N, 'bits-b');
    const initial = l.info().isa;
    const run = (isa: 'avx512' | 'avx2') => {
      l.setIsa(isa);
      const c = new Float32Array(M * N);
      l.sgemm(M, N, K, a, b, c, false, false, 0);
      return c;
    };
    try {
      const first = run('avx512');
      if (cpuFlags().has('avx2')) expect(Buffer.from(run('avx2').buffer).equals(Buffer.from(first.buffer))).toBe(true);
      l.setIsa(initial as 'avx512');
      const batched = new Float32Array(3 * M * N);
      l.sgemmBatched(3, M, N, K, a, M * K, b, 0, batched, false, false);
      expect(Buffer.from(batched.buffer, 0, M * N * 4).equals(Buffer.from(run(initial as 'avx512').buffer))).toBe(true);
    } finally {
      l.setIsa(initial as 'avx512');
    }
  });

  it('fusedMatMul: bias per column or scalar, then each activation', () => {
    const l = lib();
    const [M, N, K] = [45, 67, 33];
    const a = normal(M * K, 'fa');
    const b = normal(K * N, 'fb');
    const biasN = normal(N, 'fbias');
    for (const [tA, tB] of TRANSPOSES) {
      const base = reference(M, N, K, a, b, tA, tB);
      for (const [name, code] of Object.entries(NATIVE_ACTIVATIONS)) {
        for (const bias of [null, biasN, Float32Array.of(0.75)]) {
          const c = new Float32Array(M * N);
          l.fusedMatMul(M, N, K, a, b, c, tA, tB, bias, code, 0.1);
          let worst = 0;
          for (let i = 0; i < M * N; i++) {
            const pre = base[i]! + (bias ? (bias.length === 1 ? bias[0]! : bias[i % N]!) : 0);
            worst = Math.max(worst, Math.abs(c[i]! - activationRef[name]!(pre, 0.1)));
          }
          expect(worst, `${name} bias=${bias?.length ?? 'none'} transA=${tA} transB=${tB}`).toBeLessThan(1e-4);
        }
      }
    }
  });

  it('sgemmBatched: per-batch strides, a shared operand, and the fused epilogue', () => {
    const l = lib();
    const [batch, M, N, K] = [5, 9, 21, 17];
    const a = normal(batch * M * K, 'ba');
    const b = normal(K * N, 'bb');
    const bias = normal(N, 'bbias');
    const c = new Float32Array(batch * M * N);
    l.sgemmBatched(batch, M, N, K, a, M * K, b, 0, c, false, false, bias, NATIVE_ACTIVATIONS.relu, 0);
    for (let i = 0; i < batch; i++) {
      const want = reference(M, N, K, a.subarray(i * M * K), b, false, false);
      for (let j = 0; j < M * N; j++) expect(Math.abs(c[i * M * N + j]! - Math.max(want[j]! + bias[j % N]!, 0))).toBeLessThan(1e-4);
    }
  });

  it('K = 0 gives zeros (plus bias and activation) and M·N = 0 is a no-op', () => {
    const l = lib();
    const c = new Float32Array(6).fill(7);
    l.fusedMatMul(2, 3, 0, new Float32Array(0), new Float32Array(0), c, false, false, Float32Array.of(-1, 0, 2), NATIVE_ACTIVATIONS.relu, 0);
    expect([...c]).toEqual([0, 0, 2, 0, 0, 2]);
    l.sgemm(0, 5, 3, new Float32Array(0), new Float32Array(15), new Float32Array(0), false, false, 0);
  });

  it('rejects bad arguments with TypeError / RangeError', () => {
    const l = lib();
    const f = (n: number) => new Float32Array(n);
    expect(() => l.sgemm(4, 4, 4, f(15), f(16), f(16), false, false, 0)).toThrow(RangeError);
    expect(() => l.sgemm(4, 4, 4, f(16), f(16), f(15), false, false, 0)).toThrow(/too short/);
    expect(() => l.sgemm(4, 4, 4, new Float64Array(16) as unknown as Float32Array, f(16), f(16), false, false, 0)).toThrow(TypeError);
    expect(() => l.sgemm(-1, 4, 4, f(16), f(16), f(16), false, false, 0)).toThrow(RangeError);
    expect(() => l.sgemm(4, 4, 4, f(16), f(16), f(16), false, false, 2 as 1)).toThrow(TypeError);
    const heap = f(64);
    expect(() => l.sgemm(4, 4, 4, heap.subarray(0, 16), heap.subarray(16, 32), heap.subarray(8, 24), false, false, 0)).toThrow(/overlap/);
    // Views at an offset into a shared buffer are used in place (no copies).
    l.sgemm(4, 4, 4, heap.subarray(0, 16), heap.subarray(16, 32), heap.subarray(32, 48), false, false, 0);
    expect(() => l.fusedMatMul(4, 4, 4, f(16), f(16), f(16), false, false, f(3), 0, 0)).toThrow(/bias/);
    expect(() => l.fusedMatMul(4, 4, 4, f(16), f(16), f(16), false, false, null, 99, 0)).toThrow(RangeError);
    expect(() => l.setIsa('sse9' as 'avx2')).toThrow(RangeError);
  });

  it('writes through views at a byte offset of a larger buffer', () => {
    const l = lib();
    const buf = new Float32Array(1 + 6 + 12 + 8);
    const a = buf.subarray(1, 7).fill(1); // [2,3]
    const b = buf.subarray(7, 19).fill(2); // [3,4]
    const c = buf.subarray(19, 27);
    l.sgemm(2, 4, 3, a, b, c, false, false, 0);
    expect([...c]).toEqual(Array(8).fill(6));
    expect(buf[0]).toBe(0);
  });
});

describe.runIf(!disabled)('native kernels inside tfjs (wasm)', () => {
  /** f() with the native kernels, and again with the originals (reinstalled afterwards). */
  const bothPaths = async (f: () => tf.Tensor) => {
    lib();
    expect(nativeKernelsInstalled()).toBe(true);
    const withNative = f();
    uninstallNativeKernels();
    let viaOriginal: tf.Tensor;
    try {
      viaOriginal = f();
    } finally {
      installNativeKernels();
    }
    expect(withNative.shape).toEqual(viaOriginal.shape);
    const [x, y] = await Promise.all([withNative.data(), viaOriginal.data()]);
    return { x, y };
  };
  const agree = async (f: () => tf.Tensor, rel = 1e-4) => {
    const { x, y } = await bothPaths(f);
    const scale = maxAbs(y) + 1e-6;
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    expect(worst / scale).toBeLessThan(rel);
  };

  it('rank 2 matMul, every transpose combination, equals the wasm kernel', async () => {
    for (const [tA, tB] of TRANSPOSES) {
      const a = tensor(tA ? [37, 21] : [21, 37], 'r2a');
      const b = tensor(tB ? [19, 37] : [37, 19], 'r2b');
      await agree(() => tf.matMul(a, b, tA, tB));
    }
    await agree(() => tf.matMul(tensor([64, 512], 'big-a'), tensor([512, 1024], 'big-b')));
  });

  it('rank 3 matMul: equal batches, a shared rank-2 operand, broadcast batch 1, transposes', async () => {
    await agree(() => tf.matMul(tensor([4, 9, 33], 'x'), tensor([4, 33, 17], 'y')));
    await agree(() => tf.matMul(tensor([4, 9, 33], 'x'), tensor([33, 17], 'w')));
    await agree(() => tf.matMul(tensor([33, 9], 'wt'), tensor([4, 33, 17], 'y'), true, false));
    await agree(() => tf.matMul(tensor([1, 9, 33], 'x1'), tensor([3, 33, 17], 'y3')));
    await agree(() => tf.matMul(tensor([3, 33, 9], 'xt'), tensor([1, 17, 33], 'yt'), true, true));
  });

  it('rank 4 with batch dims broadcast both ways matches a float64 reference', async () => {
    const [M, K, N] = [5, 7, 4];
    const a = tensor([2, 1, M, K], 'b4a');
    const b = tensor([1, 3, K, N], 'b4b');
    const y = tf.matMul(a, b);
    expect(y.shape).toEqual([2, 3, M, N]);
    const [av, bv, yv] = await Promise.all([a.data(), b.data(), y.data()]);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const want = reference(M, N, K, av.subarray(i * M * K), bv.subarray(j * K * N), false, false);
        const got = yv.subarray((i * 3 + j) * M * N, (i * 3 + j + 1) * M * N);
        expect(maxAbs(got.map((v, k) => v - want[k]!))).toBeLessThan(1e-5);
      }
    }
  });

  it('fused matMul with bias + relu equals the unfused composition', async () => {
    const a = tensor([24, 40], 'fa');
    const b = tensor([40, 30], 'fb');
    const bias = tensor([30], 'fbias');
    const fused = tf.fused.matMul({ a, b, bias, activation: 'relu' });
    const unfused = tf.relu(tf.add(tf.matMul(a, b), bias));
    const [x, y] = await Promise.all([fused.data(), unfused.data()]);
    expect(fused.shape).toEqual([24, 30]);
    expect(maxAbs(x.map((v, i) => v - y[i]!))).toBeLessThan(1e-5);
  });

  it('fused matMul: every activation equals the wasm kernel (rank 2, per-column bias)', async () => {
    const a = tensor([24, 40], 'fa');
    const b = tensor([40, 30], 'fb');
    const bias = tensor([30], 'fbias');
    for (const activation of ['linear', 'relu', 'relu6', 'sigmoid', 'leakyrelu', 'elu'] as const) {
      await agree(() => tf.fused.matMul({ a, b, bias, activation, leakyreluAlpha: 0.1 }));
    }
    // prelu is not native: the original kernel runs, on both paths.
    await agree(() => tf.fused.matMul({ a, b, bias, activation: 'prelu', preluActivationWeights: tensor([30], 'alpha') }));
  });

  it('fused matMul with transposes, batches, a scalar or no bias equals the unfused ops on the original kernels', async () => {
    // Compared with the composition, not with the wasm _FusedMatMul: tfjs 4.22's wasm kernel
    // returns wrong values with transposeA/transposeB or a broadcast batch, and rejects a
    // scalar bias (all measured while writing this test).
    const a = tensor([24, 40], 'fa');
    const b = tensor([40, 30], 'fb');
    const a3 = tensor([3, 24, 40], 'f3');
    const bias = tensor([30], 'fbias');
    const cases: [() => tf.Tensor, () => tf.Tensor][] = [];
    const add = (fused: () => tf.Tensor, unfused: () => tf.Tensor) => cases.push([fused, unfused]);
    add(
      () => tf.fused.matMul({ a: tf.transpose(a), b: tf.transpose(b), transposeA: true, transposeB: true, bias, activation: 'relu' }),
      () => tf.relu(tf.add(tf.matMul(a, b), bias)),
    );
    add(() => tf.fused.matMul({ a: tf.transpose(a), b, transposeA: true, bias, activation: 'leakyrelu', leakyreluAlpha: 0.3 }), () => tf.leakyRelu(tf.add(tf.matMul(a, b), bias), 0.3));
    add(() => tf.fused.matMul({ a, b: tf.transpose(b), transposeB: true, bias, activation: 'elu' }), () => tf.elu(tf.add(tf.matMul(a, b), bias)));
    add(() => tf.fused.matMul({ a: a3, b, bias, activation: 'relu6' }), () => tf.relu6(tf.add(tf.matMul(a3, b), bias)));
    add(() => tf.fused.matMul({ a, b, bias: tf.scalar(0.5), activation: 'sigmoid' }), () => tf.sigmoid(tf.add(tf.matMul(a, b), 0.5)));
    add(() => tf.fused.matMul({ a, b, activation: 'relu' }), () => tf.relu(tf.matMul(a, b)));
    for (const [fused, unfused] of cases) {
      lib();
      const x = fused();
      uninstallNativeKernels();
      let y: tf.Tensor;
      try {
        y = unfused();
      } finally {
        installNativeKernels();
      }
      expect(x.shape).toEqual(y.shape);
      const [xv, yv] = await Promise.all([x.data(), y.data()]);
      expect(maxAbs(xv.map((v, i) => v - yv[i]!)) / (maxAbs(yv) + 1e-6)).toBeLessThan(1e-5);
    }
  });

  it('gradients through matMul (and fused matMul) stay correct', async () => {
    const a = tensor([8, 12], 'ga');
    const b = tensor([12, 5], 'gb');
    const dy = tensor([8, 5], 'gdy');
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), dy)))([a, b]);
    const [av, bv, dv, gav, gbv] = await Promise.all([a.data(), b.data(), dy.data(), ga!.data(), gb!.data()]);
    const wantA = reference(8, 12, 5, dv, bv, false, true); // dy·bᵀ
    const wantB = reference(12, 5, 8, av, dv, true, false); // aᵀ·dy
    expect(maxAbs(gav.map((v, i) => v - wantA[i]!))).toBeLessThan(1e-4);
    expect(maxAbs(gbv.map((v, i) => v - wantB[i]!))).toBeLessThan(1e-4);
    const bias = tensor([5], 'gbias');
    const loss = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
      tf.sum(tf.mul(tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: z, activation: 'relu' }), dy));
    await agree(() => tf.concat(tf.grads(loss)([a, b, bias]).map((g) => tf.reshape(g, [-1]))));
  });

  it('uninstallNativeKernels() restores the original configs; installNativeKernels() is idempotent', () => {
    lib();
    expect(installNativeKernels()).toBe(true);
    expect(installNativeKernels()).toBe(true);
    const mine = tf.getKernel(tf.BatchMatMul, 'wasm');
    uninstallNativeKernels();
    expect(nativeKernelsInstalled()).toBe(false);
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).toBe(original.bmm);
    expect(tf.getKernel(tf._FusedMatMul, 'wasm')).toBe(original.fused);
    expect(installNativeKernels()).toBe(true);
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).not.toBe(original.bmm);
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).not.toBe(mine);
  });
});

describe.runIf(!disabled)('native sampler reproduces the JS streams', () => {
  it('normal(): identical bits to the JS ziggurat over 4M draws', () => {
    lib();
    const a = new RandomStream('same/normal');
    const b = new RandomStream('same/normal');
    const viaNative = a.normal(new Float32Array(4_000_000));
    const viaJs = b.normalJS(new Float32Array(4_000_000));
    expect(Buffer.from(viaNative.buffer).equals(Buffer.from(viaJs.buffer))).toBe(true);
    expect(a.state()).toEqual(b.state());
  });

  it('uniform(): identical to the JS loop (small arrays take the JS path)', () => {
    lib();
    const viaNative = new RandomStream('same/u').uniform(new Float32Array(100_000));
    const s = new RandomStream('same/u');
    const viaJs = new Float32Array(100_000);
    for (let i = 0; i < viaJs.length; i += 100) s.uniform(viaJs.subarray(i, i + 100));
    expect(Buffer.from(viaNative.buffer).equals(Buffer.from(viaJs.buffer))).toBe(true);
  });
});

describe('tfjs fallback', () => {
  it(disabled ? 'AIMC_NATIVE=0: no addon, nothing registered' : 'the addon is in use (AIMC_NATIVE=0 runs the fallback checks)', () => {
    if (disabled) {
      expect(nativeAddon()).toBeNull();
      expect(nativeInfo()).toBeNull();
      expect(nativeUnavailableReason()).toMatch(/AIMC_NATIVE=0/);
      expect(installNativeKernels()).toBe(false);
      expect(nativeKernelsInstalled()).toBe(false);
      expect(tf.getKernel(tf.BatchMatMul, 'wasm')).toBe(original.bmm);
      expect(tf.getKernel(tf._FusedMatMul, 'wasm')).toBe(original.fused);
    } else {
      expect(nativeAddon(), `${nativeUnavailableReason()}`).not.toBeNull();
    }
  });

  it('matMul and fused matMul on whichever kernels are registered match a float64 reference', async () => {
    const [M, K, N] = [13, 29, 11];
    const a = tensor([M, K], 'fb-a');
    const b = tensor([K, N], 'fb-b');
    const bias = tensor([N], 'fb-bias');
    const [av, bv, biasv, y, f] = await Promise.all([
      a.data(), b.data(), bias.data(), tf.matMul(a, b).data(), tf.fused.matMul({ a, b, bias, activation: 'relu' }).data(),
    ]);
    const want = reference(M, N, K, av, bv, false, false);
    expect(maxAbs(y.map((v, i) => v - want[i]!))).toBeLessThan(1e-5);
    expect(maxAbs(f.map((v, i) => v - Math.max(want[i]! + biasv[i % N]!, 0)))).toBeLessThan(1e-5);
  });
});
