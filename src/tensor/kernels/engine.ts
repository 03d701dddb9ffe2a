/**
 * The native engine: a Node-API addon (native/, built by `npm install` via node-gyp) whose
 * kernels read and write tensors in place on the wasm heap (and plain Float32Arrays). This is
 * the one switch: when the addon is missing, fails to load, or AIMC_NATIVE=0, every kernel of
 * src/tensor/kernels runs its tfjs-ops reference. Nothing outside src/tensor/kernels imports
 * this module.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { packageRoot } from '../../input/package-root.js';
import { FN, KN, WN } from './ziggurat.js';

export interface NativeInfo {
  /** Micro-kernel in use: 'avx2' or 'scalar'. */
  isa: string;
  /** Threads of the addon's pool. */
  threads: number;
}

export interface NativeAddon {
  /** c[M,N] = op(a)·op(b) (+ c when beta); a [M,K] or [K,M] (transA), b [K,N] or [N,K] (transB). */
  sgemm(
    M: number,
    N: number,
    K: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    transA: boolean,
    transB: boolean,
    beta: boolean,
  ): void;
  /** batch products c_i = op(a_i)·op(b_i); strides in elements between a_i / b_i (0 = shared). */
  sgemmBatched(
    batch: number,
    M: number,
    N: number,
    K: number,
    a: Float32Array,
    strideA: number,
    b: Float32Array,
    strideB: number,
    c: Float32Array,
    transA: boolean,
    transB: boolean,
  ): void;
  /** out[i] = program(vars[·][i]) for a compiled expression (variables of length 1 broadcast). */
  evalExpr(program: Float64Array, depth: number, vars: Float32Array[], out: Float32Array): void;
  /** One AdamW update in place (see src/train/adamw.ts). */
  adamw(
    w: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    beta1: number,
    beta2: number,
    c1: number,
    c2: number,
    eps: number,
    decay: number,
  ): void;
  /** LayerNorm rows: mode 0 forward (x, γ, β → y, x̂, rstd); mode 1 backward (dy, x̂, rstd, γ → dx, dγ, dβ). */
  layerNorm(
    mode: 0 | 1,
    M: number,
    N: number,
    eps: number,
    a0: Float32Array,
    a1: Float32Array,
    a2: Float32Array,
    a3: Float32Array,
    a4: Float32Array,
    a5: Float32Array,
    a6: Float32Array,
  ): void;
  /** Softmax cross-entropy rows: loss[i] = logsumexp(z_i) − z_i[t_i], grad = (softmax − onehot)·scale; t_i < 0 ignores row i. */
  softmaxXent(N: number, V: number, logits: Float32Array, targets: Int32Array, scale: number, loss: Float32Array, grad: Float32Array): void;
  /** GELU: mode 0 out = x·Φ(x) (erf); mode 1 out = a·(Φ(x) + x·φ(x)); modes 2, 3 the same for the tanh approximation. */
  gelu(mode: 0 | 1 | 2 | 3, x: Float32Array, a: Float32Array, out: Float32Array): void;
  info(): NativeInfo;
  /** out = in transposed by perm (Int32Arrays; rank <= 8). */
  transpose(input: Float32Array, shape: Int32Array, perm: Int32Array, out: Float32Array): void;
  /** out = a op b (0 add, 1 sub, 2 mul, 3 div) with broadcasting; shapes padded to one rank. */
  binary(
    op: number,
    a: Float32Array,
    aShape: Int32Array,
    b: Float32Array,
    bShape: Int32Array,
    outShape: Int32Array,
    out: Float32Array,
  ): void;
  /** Elementwise: op 0 relu, op 1 step (1 where x > 0, else alpha); NaN passes through. */
  unary(op: 0 | 1, input: Float32Array, alpha: number, out: Float32Array): void;
  /** out[k1·k2] = Σ_r input[k1, r, k2] (double accumulation). */
  reduceSum(input: Float32Array, k1: number, r: number, k2: number, out: Float32Array): void;
  /** IR drop's effective conductances out[R·N] (µS) of g[R·N] (µS) with wire segments rRow, rCol (Ω). */
  irDrop(g: Float32Array, R: number, N: number, rRow: number, rCol: number, out: Float32Array): void;
  /** Softmax over the last axis of input[rows, cols]. */
  softmax(rows: number, cols: number, input: Float32Array, out: Float32Array): void;
  setZigguratTables(kn: Int32Array, wn: Float64Array, fn: Float64Array): void;
  fillNormal(state: Int32Array, out: Float32Array): void;
  fillUniform(state: Int32Array, out: Float32Array): void;
  /** Fused analog tile MVM (see native/analog.h for the argument layout). */
  analogForward(
    x: Float32Array,
    B: number,
    inF: number,
    outF: number,
    rowSpans: Int32Array,
    weights: Float32Array[],
    scales: Float32Array[],
    colTileOf: Int32Array,
    nColTiles: number,
    params: Float64Array,
    states: Int32Array,
    inputStates: Int32Array,
    nonlinearity: Float32Array[],
    adcGain: Float32Array[],
    adcOffset: Float32Array[],
    sarWeights: Float32Array[],
    adcRangeGain: Float32Array[],
    out: Float32Array,
  ): void;
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
      addon.setZigguratTables(KN, WN, FN);
      return addon;
    } catch (e) {
      unavailable = `failed to load ${ADDON_PATH}: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  // A library must not write to the terminal: a process warning reaches whoever listens
  // (Node prints it unless --no-warnings), and backendBanner() says the same.
  process.emitWarning(`native kernels unavailable (${unavailable}); using the tfjs kernels`, {
    type: 'AimcWarning',
    code: 'AIMC_NATIVE_UNAVAILABLE',
  });
  return (addon = null);
}

/** Addon facts for banners and benchmarks, or null. */
export function nativeInfo(): NativeInfo | null {
  return nativeAddon()?.info() ?? null;
}

/** The parts of tfjs-backend-wasm's BackendWasm that the kernels use. */
export interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  refCount(dataId: object): number;
}

/**
 * The active backend when the native kernels can read and write its tensors in place: wasm
 * (views of its heap) or aimc (the cpu backend's typed arrays), else null.
 */
export function heapBackend(): HeapBackend | null {
  const name = tf.getBackend();
  return name === 'wasm' || name === 'aimc' ? heapOf(tf.backend()) : null;
}

/** The in-place view of a wasm or aimc backend instance (a kernel's `backend` argument). */
export function heapOf(backend: unknown): HeapBackend {
  return (backend as { heap?: HeapBackend }).heap ?? (backend as HeapBackend);
}

/** The arguments tfjs hands a kernel function. */
export interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

/** A kernel function as tfjs calls it. */
export type KernelRun = (args: KernelArgs) => tf.TensorInfo;

/**
 * Replace a backend's kernel `name` by `impl`, which may hand any call back to the original
 * (returned, so it can be restored); nothing happens when the backend has no such kernel.
 */
export function overrideKernel(
  backendName: string,
  name: string,
  impl: (args: KernelArgs, original: KernelRun) => tf.TensorInfo,
): tf.KernelConfig | null {
  const orig = tf.getKernel(name, backendName);
  if (!orig) return null;
  const original = orig.kernelFunc as unknown as KernelRun;
  tf.unregisterKernel(name, backendName);
  tf.registerKernel({
    kernelName: name,
    backendName,
    kernelFunc: ((args: KernelArgs) => impl(args, original)) as unknown as tf.KernelFunc,
  });
  return orig;
}

/** A new, uninitialized float32 tensor on the heap. Take views only after all allocations. */
export function heapTensor(h: HeapBackend, shape: number[]): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(h.makeOutput(shape, 'float32'));
}

/** What an engine implementation of a kernel is handed: the addon, and the heap when on wasm. */
export interface NativeEngine {
  lib: NativeAddon;
  heap: HeapBackend | null;
}

/** The native engine for this call, or null (addon unavailable or disabled). */
export function nativeEngine(): NativeEngine | null {
  const lib = nativeAddon();
  return lib ? { lib, heap: heapBackend() } : null;
}
