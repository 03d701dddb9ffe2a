/**
 * SGEMM micro-benchmark (not part of `npm test` or `npm run bench`): GFLOP/s of the native
 * addon called directly, and of tf.matMul on the wasm backend with tfjs's own kernels and
 * with the native kernels installed, measured in the same process. Prints JSON lines
 * {"case","engine","gflops"}; medians of 7 timed runs.
 *
 *   npm run -s build && node dist/bench/sgemm.js   (AIMC_THREADS=1: one core)
 */
import * as tf from '@tensorflow/tfjs';
import { installNativeKernels, nativeAddon, nativeInfo, uninstallNativeKernels } from '../src/tensor/native.js';

const RUNS = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Median GFLOP/s of f, which performs `flops` floating-point operations per call. */
function rate(flops: number, f: () => void): number {
  for (let i = 0; i < 3; i++) f();
  // About 0.2 s per timed run.
  const t0 = performance.now();
  f();
  const once = Math.max((performance.now() - t0) / 1000, 1e-6);
  const reps = Math.max(1, Math.round(0.2 / once));
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) f();
    rates.push((flops * reps) / ((performance.now() - t) / 1000) / 1e9);
  }
  return median(rates);
}

function emit(name: string, engine: string, gflops: number): void {
  console.log(JSON.stringify({ case: name, engine, gflops: Math.round(gflops * 10) / 10 }));
}

function random(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

async function main(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
  const lib = nativeAddon();
  const info = nativeInfo();
  console.error(`native: ${info ? `${info.isa} x${info.threads}` : 'unavailable'}`);

  // [M, N, K, transA, transB]
  const shapes: [number, number, number, boolean, boolean][] = [
    [64, 1024, 512, false, false],
    [64, 1024, 512, false, true],
    [64, 1024, 512, true, false],
    [512, 512, 512, false, false],
    [1024, 1024, 1024, false, false],
    [128, 128, 128, false, false],
  ];
  if (lib) {
    for (const [M, N, K, tA, tB] of shapes) {
      const a = random(M * K);
      const b = random(K * N);
      const c = new Float32Array(M * N);
      emit(`sgemm ${M}x${K} @ ${K}x${N}${tA ? ' transA' : ''}${tB ? ' transB' : ''}`, `native-${info!.isa}-x${info!.threads}`, rate(2 * M * N * K, () => lib.sgemm(M, N, K, a, b, c, tA, tB, false)));
    }
  }

  // tf.matMul through whichever kernels are registered.
  const cases: { name: string; flops: number; run: () => tf.Tensor }[] = [];
  const t = (shape: number[]) => tf.tensor(random(shape.reduce((x, y) => x * y, 1)), shape);
  const x = t([64, 512]);
  const w = t([512, 1024]);
  const wt = t([1024, 512]);
  const sq = t([512, 512]);
  const q = t([64, 64, 32]);
  const k = t([64, 64, 32]);
  cases.push({ name: 'tf.matMul 64x512 @ 512x1024', flops: 2 * 64 * 512 * 1024, run: () => tf.matMul(x, w) });
  cases.push({ name: 'tf.matMul 64x512 @ (1024x512)T', flops: 2 * 64 * 512 * 1024, run: () => tf.matMul(x, wt, false, true) });
  cases.push({ name: 'tf.matMul 512x512 @ 512x512', flops: 2 * 512 ** 3, run: () => tf.matMul(sq, sq) });
  cases.push({ name: 'tf.matMul [64,64,32] @ [64,64,32]T (attention)', flops: 2 * 64 * 64 * 64 * 32, run: () => tf.matMul(q, k, false, true) });
  const measure = (engine: string) => {
    for (const c of cases) {
      emit(c.name, engine, rate(c.flops, () => c.run().dispose()));
    }
  };
  uninstallNativeKernels();
  measure('tfjs-wasm');
  if (installNativeKernels()) measure(`tfjs-wasm+native-${info!.isa}-x${info!.threads}`);
}

main().catch((e: unknown) => {
  console.error(`bench/sgemm: ${(e as Error).message}`);
  process.exitCode = 1;
});
