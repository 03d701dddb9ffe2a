/**
 * Native kernel layer: a Node-API addon (native/, built by `npm install` via node-gyp) with a
 * multithreaded, cache-blocked SGEMM (AVX-512 / AVX2+FMA micro-kernels chosen at run time,
 * portable C++ otherwise), registered as the wasm backend's BatchMatMul and _FusedMatMul
 * kernels. It reads and writes tensors in place on the wasm heap. When the addon is missing,
 * fails to load, or AIMC_NATIVE=0, everything runs on tfjs's own kernels.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setNativeSampler, ZIGGURAT_TABLES } from './random.js';
import type { HeapBackend } from './heap.js';

export interface NativeInfo {
  /** Micro-kernel in use: 'avx512', 'avx2' or 'scalar'. */
  isa: string;
  /** Threads of the addon's pool (caller included). */
  threads: number;
}

/** Epilogue activation codes of fusedMatMul / sgemmBatched (native/sgemm.h, Activation). */
export const NATIVE_ACTIVATIONS = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, leakyrelu: 4, elu: 5 } as const;
export type NativeActivation = keyof typeof NATIVE_ACTIVATIONS;

export interface NativeAddon {
  /** c[M,N] = op(a)·op(b) (+ c when beta); a [M,K] or [K,M] (transA), b [K,N] or [N,K] (transB). Throws on short or overlapping arrays. */
  sgemm(M: number, N: number, K: number, a: Float32Array, b: Float32Array, c: Float32Array, transA: boolean, transB: boolean, beta: boolean | 0 | 1): void;
  /** c[M,N] = act(op(a)·op(b) + bias); bias of length N (per column) or 1, or null; activation a NATIVE_ACTIVATIONS code; alpha the leakyrelu slope. */
  fusedMatMul(
    M: number, N: number, K: number, a: Float32Array, b: Float32Array, c: Float32Array, transA: boolean, transB: boolean,
    bias: Float32Array | null, activation: number, alpha: number,
  ): void;
  /** batch products c_i = op(a_i)·op(b_i) (then + bias, activation when given); strides in elements between a_i / b_i (0 = shared), c_i M·N apart. */
  sgemmBatched(batch: number, M: number, N: number, K: number, a: Float32Array, strideA: number, b: Float32Array, strideB: number, c: Float32Array, transA: boolean, transB: boolean): void;
  sgemmBatched(
    batch: number, M: number, N: number, K: number, a: Float32Array, strideA: number, b: Float32Array, strideB: number, c: Float32Array,
    transA: boolean, transB: boolean, bias: Float32Array | null, activation: number, alpha: number,
  ): void;
  /** Switch micro-kernels (tests); a kernel the CPU lacks falls back to the best it has. Returns the one in use. */
  setIsa(isa: 'avx512' | 'avx2' | 'scalar'): string;
  /** out[i] = program(vars[·][i]) for a compiled expression (variables of length 1 broadcast). */
  evalExpr(program: Float64Array, depth: number, vars: Float32Array[], out: Float32Array): void;
  /** One AdamW update in place (see src/train/adamw.ts). */
  adamw(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, beta1: number, beta2: number, c1: number, c2: number, eps: number, decay: number): void;
  /** LayerNorm rows: mode 0 forward (x, γ, β → y, x̂, rstd); mode 1 backward (dy, x̂, rstd, γ → dx, dγ, dβ). */
  layerNorm(mode: 0 | 1, M: number, N: number, eps: number, a0: Float32Array, a1: Float32Array, a2: Float32Array, a3: Float32Array, a4: Float32Array, a5: Float32Array, a6: Float32Array): void;
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

/** Repository root: the folder with package.json (and binding.gyp) above this module, from src/ or dist/src/. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  let dir = here;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = resolve(dir, '..');
    if (up === dir) break;
    dir = up;
  }
  return resolve(here, '..', '..');
}

const ROOT = packageRoot();
/** Where the install step puts the addon. */
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
  try {
    return JSON.parse(readFileSync(STATUS_PATH, 'utf8')) as { built: boolean; reason: string | null };
  } catch {
    return null;
  }
}

/** The loaded addon, or null (AIMC_NATIVE=0, not built, or failed to load); logs one line the first time it is unavailable for a reason other than AIMC_NATIVE=0. */
export function nativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  if (process.env.AIMC_NATIVE === '0') {
    unavailable = 'disabled by AIMC_NATIVE=0';
    return (addon = null);
  }
  if (!existsSync(ADDON_PATH)) {
    const st = nativeBuildStatus();
    unavailable = st?.reason ? `not built: ${st.reason}` : `not built: no ${ADDON_PATH} (run npm install)`;
  } else {
    try {
      const lib = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
      // The native sampler draws the same numbers as the JS one, from the same tables.
      lib.setZigguratTables(ZIGGURAT_TABLES.kn, ZIGGURAT_TABLES.wn, ZIGGURAT_TABLES.fn);
      setNativeSampler(lib);
      return (addon = lib);
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

/** One native matmul over (possibly broadcast) batches: shapes and batch loops. */
interface MatMulPlan {
  M: number;
  N: number;
  K: number;
  outShape: number[];
  /** Collapsed batch dims, outermost first: size and per-operand stride in matrices (0 = broadcast). */
  dims: { size: number; sa: number; sb: number }[];
}

/**
 * Shapes of op(a)·op(b) as tfjs's BatchMatMul defines them (batch dims broadcast), or null
 * when the native path does not cover the call (the original kernel then runs and reports
 * any error itself).
 */
function planMatMul(a: tf.TensorInfo, b: tf.TensorInfo, transA: boolean, transB: boolean): MatMulPlan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const M = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const K2 = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (K !== K2) return null;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  let batch: number[];
  try {
    batch = tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  } catch {
    return null;
  }
  const r = batch.length;
  const padA = [...Array<number>(r - batchA.length).fill(1), ...batchA];
  const padB = [...Array<number>(r - batchB.length).fill(1), ...batchB];
  // Row-major strides in whole matrices; a broadcast dim (size 1) gets stride 0.
  const dims: { size: number; sa: number; sb: number }[] = [];
  let accA = 1;
  let accB = 1;
  for (let d = r - 1; d >= 0; d--) {
    const sa = padA[d] === 1 ? 0 : accA;
    const sb = padB[d] === 1 ? 0 : accB;
    accA *= padA[d]!;
    accB *= padB[d]!;
    if (batch[d] === 1) continue;
    const inner = dims[0];
    // Merge into the next-inner dim when both operands step through it contiguously.
    if (inner && sa === inner.sa * inner.size && sb === inner.sb * inner.size) inner.size *= batch[d]!;
    else dims.unshift({ size: batch[d]!, sa, sb });
  }
  return { M, N, K, outShape: [...batch, M, N], dims };
}

/** Epilogue of a fused matmul: bias view (length 1 or N), activation code, alpha. */
interface NativeEpilogue {
  bias: Float32Array | null;
  activation: number;
  alpha: number;
}

/** Run the planned product natively into a new heap tensor. */
function runMatMul(lib: NativeAddon, backend: HeapBackend, p: MatMulPlan, a: tf.TensorInfo, b: tf.TensorInfo, transA: boolean, transB: boolean, biasInfo: tf.TensorInfo | null, activation: number, alpha: number): tf.TensorInfo {
  const out = backend.makeOutput(p.outShape, 'float32');
  const { M, N, K } = p;
  const batches = p.dims.reduce((s, d) => s * d.size, 1);
  if (M * N * batches === 0) return out;
  // Views only now: allocating the output may grow the wasm memory and detach older views.
  const av = backend.typedArrayFromHeap(a);
  const bv = backend.typedArrayFromHeap(b);
  const cv = backend.typedArrayFromHeap(out);
  const ep: NativeEpilogue = { bias: biasInfo ? backend.typedArrayFromHeap(biasInfo) : null, activation, alpha };
  const mk = M * K;
  const kn = K * N;
  const mn = M * N;
  const last = p.dims[p.dims.length - 1];
  if (!last) {
    lib.sgemmBatched(1, M, N, K, av, 0, bv, 0, cv, transA, transB, ep.bias, ep.activation, ep.alpha);
    return out;
  }
  if (p.dims.length === 1 && last.sb === 0 && last.sa === 1 && !transA) {
    // A stack of row blocks times one shared B is a single taller product (same sums).
    lib.sgemmBatched(1, last.size * M, N, K, av, 0, bv, 0, cv, false, transB, ep.bias, ep.activation, ep.alpha);
    return out;
  }
  // Outer broadcast dims loop here; the innermost is one strided batched call.
  const outer = p.dims.slice(0, -1);
  const idx = outer.map(() => 0);
  for (let c = 0; ; c += last.size) {
    let oa = 0;
    let ob = 0;
    outer.forEach((d, i) => {
      oa += idx[i]! * d.sa;
      ob += idx[i]! * d.sb;
    });
    lib.sgemmBatched(
      last.size, M, N, K, av.subarray(oa * mk), last.sa * mk, bv.subarray(ob * kn), last.sb * kn, cv.subarray(c * mn),
      transA, transB, ep.bias, ep.activation, ep.alpha,
    );
    let d = outer.length - 1;
    while (d >= 0 && ++idx[d]! === outer[d]!.size) idx[d--] = 0;
    if (d < 0) break;
  }
  return out;
}

const originals = new Map<string, tf.KernelConfig>();

type KernelFn = (args: KernelArgs) => tf.TensorInfo;

function batchMatMulKernel(lib: NativeAddon, original: KernelFn): KernelFn {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    const p = planMatMul(a, b, !!transposeA, !!transposeB);
    if (!p) return original(args);
    return runMatMul(lib, args.backend as HeapBackend, p, a, b, !!transposeA, !!transposeB, null, NATIVE_ACTIVATIONS.linear, 0);
  };
}

function fusedMatMulKernel(lib: NativeAddon, original: KernelFn): KernelFn {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: string; leakyreluAlpha?: number };
    const act = attrs.activation ?? 'linear';
    // prelu (per-channel weights) and anything unknown stay with the wasm kernel.
    if (preluActivationWeights || !a || !b || !Object.hasOwn(NATIVE_ACTIVATIONS, act)) return original(args);
    const p = planMatMul(a, b, !!attrs.transposeA, !!attrs.transposeB);
    if (!p) return original(args);
    if (bias) {
      // Natively: a scalar bias or one per output column; other broadcasts fall back.
      const size = bias.shape.reduce((s, d) => s * d, 1);
      const perColumn = size === p.N && bias.shape[bias.shape.length - 1] === p.N && bias.shape.length <= p.outShape.length;
      if (bias.dtype !== 'float32' || !(size === 1 || perColumn)) return original(args);
    }
    // The wasm kernel passes `leakyreluAlpha || 0`; tfjs's fused.matMul always sets it (0.2 by default).
    const alpha = attrs.leakyreluAlpha ?? 0;
    return runMatMul(lib, args.backend as HeapBackend, p, a, b, !!attrs.transposeA, !!attrs.transposeB, bias ?? null, NATIVE_ACTIVATIONS[act as NativeActivation], alpha);
  };
}

/** Register native BatchMatMul and _FusedMatMul for the 'wasm' backend (idempotent; no-op returning false when the addon is unavailable, AIMC_NATIVE=0, or tfjs-backend-wasm is not loaded). */
export function installNativeKernels(): boolean {
  const lib = nativeAddon();
  if (!lib) return false;
  if (originals.size) return true;
  const make: Record<string, (lib: NativeAddon, original: KernelFn) => KernelFn> = {
    [tf.BatchMatMul]: batchMatMulKernel,
    [tf._FusedMatMul]: fusedMatMulKernel,
  };
  for (const name of [tf.BatchMatMul, tf._FusedMatMul]) {
    const orig = tf.getKernel(name, 'wasm');
    if (!orig) continue;
    originals.set(name, orig);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      // The original's setup (its cwrap of the wasm function) must still run if the backend
      // initializes after this, or the fallback path would have nothing to call.
      ...(orig.setupFunc ? { setupFunc: orig.setupFunc } : {}),
      ...(orig.disposeFunc ? { disposeFunc: orig.disposeFunc } : {}),
      kernelFunc: make[name]!(lib, orig.kernelFunc as unknown as KernelFn) as unknown as tf.KernelFunc,
    });
  }
  return originals.size > 0;
}

/** Restore tfjs's own wasm kernels (the exact configs installNativeKernels replaced). */
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
