/**
 * The matmul kernels: tfjs's own BatchMatMul and _FusedMatMul are the reference; the native
 * engine's multithreaded AVX2/FMA SGEMM is registered in their place for the wasm backend
 * (the only kernels that go through tfjs's registry, so that every matmul — the model's, the
 * gradients', the tile's — takes it without the callers knowing).
 */
import * as tf from '@tensorflow/tfjs';
import { heapOf, nativeAddon, overrideKernel, type HeapBackend, type KernelArgs, type KernelRun, type NativeAddon } from './engine.js';

const originals = new Map<string, tf.KernelConfig>();

/**
 * Shapes of a (batched) matmul, or null when the native path does not cover it (then the
 * original kernel runs): float32 only, batch dims equal or one side without batch.
 */
function plan(a: tf.TensorInfo, b: tf.TensorInfo, transA: boolean, transB: boolean) {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const K2 = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (K !== K2) return null;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const nA = batchA.reduce((x, y) => x * y, 1);
  const nB = batchB.reduce((x, y) => x * y, 1);
  let batch: number[];
  if (nA === nB && batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i])) batch = batchA;
  else if (nB === 1) batch = batchA.length >= batchB.length ? batchA : batchB;
  else if (nA === 1) batch = batchB.length >= batchA.length ? batchB : batchA;
  else return null;
  const n = batch.reduce((x, y) => x * y, 1);
  return { M, N, K, batch, n, strideA: nA === 1 ? 0 : M * K, strideB: nB === 1 ? 0 : K * N };
}

/** Run op(a)·op(b) natively into a new heap tensor; null if not covered. */
function nativeMatMul(
  lib: NativeAddon,
  backend: HeapBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transA: boolean,
  transB: boolean,
): tf.TensorInfo | null {
  const p = plan(a, b, transA, transB);
  if (!p) return null;
  const out = backend.makeOutput([...p.batch, p.M, p.N], 'float32');
  // Views after allocating: allocation may grow the heap and detach older views.
  const av = backend.typedArrayFromHeap(a);
  const bv = backend.typedArrayFromHeap(b);
  const cv = backend.typedArrayFromHeap(out);
  if (p.n === 1) lib.sgemm(p.M, p.N, p.K, av.subarray(0, p.M * p.K), bv.subarray(0, p.K * p.N), cv, transA, transB, false);
  else lib.sgemmBatched(p.n, p.M, p.N, p.K, av, p.strideA, bv, p.strideB, cv, transA, transB);
  return out;
}

/** Activations the fused matmul and conv kernels apply natively (others run the original kernel). */
export const FUSED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'sigmoid', 'leakyrelu', 'elu'];

/** Bias add and activation in place, as _FusedMatMul and FusedConv2D define them; false if unsupported. */
export function epilogue(c: Float32Array, N: number, bias: Float32Array | null, activation: string, alpha: number): boolean {
  if (bias) {
    const nb = bias.length;
    if (nb === 1) for (let i = 0; i < c.length; i++) c[i] = c[i]! + bias[0]!;
    else if (nb === N) for (let i = 0; i < c.length; i++) c[i] = c[i]! + bias[i % N]!;
    else if (nb === c.length) for (let i = 0; i < c.length; i++) c[i] = c[i]! + bias[i]!;
    else return false;
  }
  switch (activation) {
    case 'linear':
    case undefined:
      return true;
    case 'relu':
      for (let i = 0; i < c.length; i++) if (!(c[i]! > 0)) c[i] = 0;
      return true;
    case 'relu6':
      for (let i = 0; i < c.length; i++) c[i] = Math.min(Math.max(c[i]!, 0), 6);
      return true;
    case 'sigmoid':
      for (let i = 0; i < c.length; i++) c[i] = 1 / (1 + Math.exp(-c[i]!));
      return true;
    case 'leakyrelu':
      for (let i = 0; i < c.length; i++) if (c[i]! < 0) c[i] = c[i]! * alpha;
      return true;
    case 'elu':
      for (let i = 0; i < c.length; i++) if (c[i]! < 0) c[i] = Math.expm1(c[i]!);
      return true;
    default:
      return false;
  }
}

/** Backends whose matmuls the native SGEMM replaces (their tensors are reachable in place). */
const NATIVE_MATMUL_BACKENDS = ['wasm', 'aimc'];

/**
 * Register native BatchMatMul and _FusedMatMul for the wasm and aimc backends (idempotent,
 * for whichever is registered). Returns false (and changes nothing) when the addon is unavailable.
 */
export function installNativeMatMul(): boolean {
  const lib = nativeAddon();
  if (!lib) return false;
  for (const backendName of NATIVE_MATMUL_BACKENDS) installFor(lib, backendName);
  return true;
}

function installFor(lib: NativeAddon, backendName: string): void {
  if (originals.has(`${backendName}/${tf.BatchMatMul}`)) return;
  override(backendName, tf.BatchMatMul, (args, original) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    return nativeMatMul(lib, heapOf(args.backend), a, b, !!transposeA, !!transposeB) ?? original(args);
  });
  override(backendName, tf._FusedMatMul, (args, original) => {
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: string; leakyreluAlpha?: number };
    const backend = heapOf(args.backend);
    if (preluActivationWeights || (bias && bias.dtype !== 'float32')) return original(args);
    const act = attrs.activation ?? 'linear';
    if (!FUSED_ACTIVATIONS.includes(act)) return original(args);
    const out = nativeMatMul(lib, backend, a!, b!, !!attrs.transposeA, !!attrs.transposeB);
    if (!out) return original(args);
    const N = out.shape[out.shape.length - 1]!;
    const bv = bias ? backend.typedArrayFromHeap(bias) : null;
    if (!epilogue(backend.typedArrayFromHeap(out), N, bv, act, attrs.leakyreluAlpha ?? 0.2)) {
      tf.engine().disposeTensor(tf.engine().makeTensorFromTensorInfo(out));
      return original(args);
    }
    return out;
  });
}

/** Override through engine.ts, remembering the original so uninstall can restore it. */
function override(backendName: string, name: string, impl: (args: KernelArgs, original: KernelRun) => tf.TensorInfo): void {
  const orig = overrideKernel(backendName, name, impl);
  if (orig) originals.set(`${backendName}/${name}`, orig);
}

/** Restore tfjs's own matmul kernels (tests compare both paths). */
export function uninstallNativeMatMul(): void {
  for (const cfg of originals.values()) {
    tf.unregisterKernel(cfg.kernelName, cfg.backendName);
    tf.registerKernel(cfg);
  }
  originals.clear();
}

/** True while the native kernels are registered. */
export function nativeMatMulInstalled(): boolean {
  return originals.size > 0;
}

/** True when the current backend's matmuls run on the native SGEMM (transpose flags are free there). */
export function nativeMatMulActive(): boolean {
  const b = tf.getBackend();
  return NATIVE_MATMUL_BACKENDS.includes(b) && originals.has(`${b}/${tf.BatchMatMul}`);
}
