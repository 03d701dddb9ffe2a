/**
 * Native kernel layer: a Node-API addon (native/, built by `npm install` via node-gyp) with a
 * multithreaded AVX2/FMA SGEMM, registered as the wasm backend's BatchMatMul and
 * _FusedMatMul kernels. It reads and writes tensors in place on the wasm heap. When the addon
 * is missing, fails to load, or AIMC_NATIVE=0, everything runs on tfjs's own kernels.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setNativeSampler, ZIGGURAT_TABLES } from './random.js';
import type { HeapBackend } from './heap.js';

export interface NativeInfo {
  /** Micro-kernel in use: 'avx2' or 'scalar'. */
  isa: string;
  /** Threads of the addon's pool. */
  threads: number;
}

export interface NativeAddon {
  /** c[M,N] = op(a)·op(b) (+ c when beta); a [M,K] or [K,M] (transA), b [K,N] or [N,K] (transB). */
  sgemm(M: number, N: number, K: number, a: Float32Array, b: Float32Array, c: Float32Array, transA: boolean, transB: boolean, beta: boolean): void;
  /** batch products c_i = op(a_i)·op(b_i); strides in elements between a_i / b_i (0 = shared). */
  sgemmBatched(batch: number, M: number, N: number, K: number, a: Float32Array, strideA: number, b: Float32Array, strideB: number, c: Float32Array, transA: boolean, transB: boolean): void;
  /** out[i] = program(vars[·][i]) for a compiled expression (variables of length 1 broadcast). */
  evalExpr(program: Float64Array, depth: number, vars: Float32Array[], out: Float32Array): void;
  /** One AdamW update in place (see src/train/adamw.ts). */
  adamw(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, beta1: number, beta2: number, c1: number, c2: number, eps: number, decay: number): void;
  /** LayerNorm rows: mode 0 forward (x, γ, β → y, x̂, rstd); mode 1 backward (dy, x̂, rstd, γ → dx, dγ, dβ). */
  layerNorm(mode: 0 | 1, M: number, N: number, eps: number, a0: Float32Array, a1: Float32Array, a2: Float32Array, a3: Float32Array, a4: Float32Array, a5: Float32Array, a6: Float32Array): void;
  /** Softmax cross-entropy rows: loss[i] = logsumexp(z_i) − z_i[t_i], grad = (softmax − onehot)·scale; t_i < 0 ignores row i. */
  softmaxXent(N: number, V: number, logits: Float32Array, targets: Int32Array, scale: number, loss: Float32Array, grad: Float32Array): void;
  /** GELU: mode 0 out = x·Φ(x) (erf); mode 1 out = a·(Φ(x) + x·φ(x)); modes 2, 3 the same for the tanh approximation. */
  gelu(mode: 0 | 1 | 2 | 3, x: Float32Array, a: Float32Array, out: Float32Array): void;
  info(): NativeInfo;
  setZigguratTables(kn: Int32Array, wn: Float64Array, fn: Float64Array): void;
  fillNormal(state: Int32Array, out: Float32Array): void;
  fillUniform(state: Int32Array, out: Float32Array): void;
  /** Fused analog tile MVM (see native/analog.h for the argument layout). */
  analogForward(
    x: Float32Array, B: number, inF: number, outF: number, rowStarts: Int32Array, weights: Float32Array[], scales: Float32Array[],
    colTileOf: Int32Array, nColTiles: number, params: Float64Array, states: Int32Array, out: Float32Array,
  ): void;
}

/** Repository root: the folder with package.json above this module (src/ or dist/src/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = resolve(dir, '..');
  }
  return dirname(fileURLToPath(import.meta.url));
}

const ROOT = packageRoot();
export const ADDON_PATH = join(ROOT, 'build', 'Release', 'aimc_native.node');
const STATUS_PATH = join(ROOT, 'build', 'native-status.json');

let addon: NativeAddon | null | undefined;
let unavailable: string | null = null;

/** Why the addon is unavailable (null when it loaded). */
export function nativeUnavailableReason(): string | null {
  nativeAddon();
  return unavailable;
}

/** What the install step recorded: { built, reason } or null if it never ran. */
export function nativeBuildStatus(): { built: boolean; reason: string | null } | null {
  if (!existsSync(STATUS_PATH)) return null;
  return JSON.parse(readFileSync(STATUS_PATH, 'utf8')) as { built: boolean; reason: string | null };
}

/** The loaded addon, or null (AIMC_NATIVE=0, not built, or failed to load; logged once). */
export function nativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  if (process.env.AIMC_NATIVE === '0') {
    unavailable = 'disabled by AIMC_NATIVE=0';
    return (addon = null);
  }
  if (!existsSync(ADDON_PATH)) {
    const st = nativeBuildStatus();
    unavailable = st?.reason ? `not built: ${st.reason}` : 'not built (run npm install)';
  } else {
    try {
      addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
      // The native sampler draws the same numbers as the JS one, from the same tables.
      addon.setZigguratTables(ZIGGURAT_TABLES.kn, ZIGGURAT_TABLES.wn, ZIGGURAT_TABLES.fn);
      setNativeSampler(addon);
      return addon;
    } catch (e) {
      unavailable = `failed to load ${ADDON_PATH}: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  console.error(`aimc: native kernels unavailable (${unavailable}); using the tfjs kernels`);
  return (addon = null);
}

/** Addon facts for banners and benchmarks, or null. */
export function nativeInfo(): NativeInfo | null {
  return nativeAddon()?.info() ?? null;
}

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

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
function nativeMatMul(lib: NativeAddon, backend: HeapBackend, a: tf.TensorInfo, b: tf.TensorInfo, transA: boolean, transB: boolean): tf.TensorInfo | null {
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

/** Bias add and activation in place, as _FusedMatMul defines them; false if unsupported. */
function epilogue(c: Float32Array, N: number, bias: Float32Array | null, activation: string, alpha: number): boolean {
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

/**
 * Register native BatchMatMul and _FusedMatMul for the 'wasm' backend (idempotent).
 * Returns false (and changes nothing) when the addon is unavailable.
 */
export function installNativeKernels(): boolean {
  const lib = nativeAddon();
  if (!lib) return false;
  if (originals.size) return true;
  for (const name of [tf.BatchMatMul, tf._FusedMatMul]) {
    const orig = tf.getKernel(name, 'wasm');
    if (!orig) continue;
    originals.set(name, orig);
  }
  const bmm = originals.get(tf.BatchMatMul);
  if (bmm) {
    tf.unregisterKernel(tf.BatchMatMul, 'wasm');
    tf.registerKernel({
      kernelName: tf.BatchMatMul,
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => {
        const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
        const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
        return nativeMatMul(lib, args.backend as HeapBackend, a, b, !!transposeA, !!transposeB) ?? (bmm.kernelFunc as (x: KernelArgs) => tf.TensorInfo)(args);
      }) as tf.KernelFunc,
    });
  }
  const fused = originals.get(tf._FusedMatMul);
  if (fused) {
    tf.unregisterKernel(tf._FusedMatMul, 'wasm');
    tf.registerKernel({
      kernelName: tf._FusedMatMul,
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => {
        const { a, b, bias, preluActivationWeights } = args.inputs;
        const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: string; leakyreluAlpha?: number };
        const backend = args.backend as HeapBackend;
        const fallback = () => (fused.kernelFunc as (x: KernelArgs) => tf.TensorInfo)(args);
        if (preluActivationWeights || (bias && bias.dtype !== 'float32')) return fallback();
        const act = attrs.activation ?? 'linear';
        if (!['linear', 'relu', 'relu6', 'sigmoid', 'leakyrelu', 'elu'].includes(act)) return fallback();
        const out = nativeMatMul(lib, backend, a!, b!, !!attrs.transposeA, !!attrs.transposeB);
        if (!out) return fallback();
        const N = out.shape[out.shape.length - 1]!;
        const ok = epilogue(backend.typedArrayFromHeap(out), N, bias ? backend.typedArrayFromHeap(bias) : null, act, attrs.leakyreluAlpha ?? 0.2);
        if (!ok) {
          tf.engine().disposeTensor(tf.engine().makeTensorFromTensorInfo(out));
          return fallback();
        }
        return out;
      }) as tf.KernelFunc,
    });
  }
  return true;
}

/** Restore tfjs's own wasm kernels (tests compare both paths). */
export function uninstallNativeKernels(): void {
  for (const [name, cfg] of originals) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(cfg);
  }
  originals.clear();
}

/** True while the native kernels are registered. */
export function nativeKernelsInstalled(): boolean {
  return originals.size > 0;
}
