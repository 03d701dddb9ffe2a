/**
 * Backend selection: `tensorflow` (tfjs-node-gpu or tfjs-node, when installed and loadable)
 * > `aimc` (the embedded default: cpu storage with the native kernels, wherever the addon
 * builds) > `wasm` (32-bit heap, 4 GB in all) > `cpu`. `--backend` or AIMC_BACKEND override
 * the order.
 */
import { totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { installMatMulGradient } from './matmul-grad.js';
import { registerAimcBackend } from './kernels/aimc-backend.js';
import { installWasmKernels } from './wasm-kernels.js';
import { installNativeMatMul, nativeAddon, nativeInfo, nativeMatMulInstalled, nativeUnavailableReason } from './kernels/index.js';

export const BACKENDS = ['tensorflow', 'aimc', 'wasm', 'cpu'] as const;
/** Tried in this order when nothing is requested. */
const AUTO_ORDER: readonly BackendName[] = ['tensorflow', 'aimc', 'wasm', 'cpu'];
export type BackendName = (typeof BACKENDS)[number];

/** Why a backend could not be used, for the one line we print when falling back. */
const failures = new Map<BackendName, string>();

async function tryTensorflow(): Promise<boolean> {
  // Either package registers the `tensorflow` backend on import; the GPU build first.
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (tf.findBackendFactory('tensorflow')) return tf.setBackend('tensorflow');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // Not installed is the normal case; a package that is installed but fails to load is news.
      if (err.code !== 'ERR_MODULE_NOT_FOUND') reasons.push(`${pkg} failed to load: ${err.message.split('\n')[0]}`);
    }
  }
  failures.set('tensorflow', reasons.length ? reasons.join('; ') : '@tensorflow/tfjs-node-gpu / @tensorflow/tfjs-node not installed');
  return false;
}

async function tryWasm(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    return await tf.setBackend('wasm');
  } catch (e) {
    failures.set('wasm', (e as Error).message);
    return false;
  }
}

/** The cpu backend's storage with the native kernels: needs the addon. */
async function tryAimc(): Promise<boolean> {
  if (!nativeAddon()) {
    failures.set('aimc', `needs the native kernels (${nativeUnavailableReason()})`);
    return false;
  }
  registerAimcBackend();
  return tf.setBackend('aimc');
}

async function trySet(name: BackendName): Promise<boolean> {
  const ok =
    name === 'tensorflow'
      ? await tryTensorflow()
      : name === 'wasm'
        ? await tryWasm()
        : name === 'aimc'
          ? await tryAimc()
          : await tf.setBackend('cpu');
  if (ok) await tf.ready();
  // The native SGEMM replaces the wasm matmul kernels only; other backends keep their own.
  if (ok && (name === 'wasm' || name === 'aimc')) {
    installWasmKernels();
    installNativeMatMul();
  }
  return ok;
}

/** Parse a backend name from a flag or the environment; throws on an unknown name. */
export function parseBackendName(value: string, origin: string): BackendName {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`${origin}: unknown backend '${value}' (expected one of ${BACKENDS.join(', ')})`);
}

let active: BackendName | null = null;

/**
 * Select and initialize the backend once per process. An explicit request (argument or
 * AIMC_BACKEND) that cannot load is an error; the automatic order falls through silently.
 */
export async function initBackend(requested?: string): Promise<BackendName> {
  const wanted = requested ?? process.env.AIMC_BACKEND;
  if (active && (!wanted || wanted === active)) return active;
  installMatMulGradient();
  // Native sampling serves every backend; the matmul kernels only wasm (below).
  nativeAddon();
  tf.env().set('IS_TEST', false);
  if (wanted) {
    const name = parseBackendName(wanted, requested ? '--backend' : 'AIMC_BACKEND');
    if (!(await trySet(name))) {
      throw new Error(`backend '${name}' could not be loaded: ${failures.get(name) ?? 'unknown reason'}`);
    }
    active = name;
    return name;
  }
  for (const name of AUTO_ORDER) {
    if (await trySet(name)) {
      active = name;
      return name;
    }
  }
  throw new Error('no tfjs backend could be initialized');
}

/** The backend in use (after initBackend). */
export function activeBackend(): BackendName {
  if (!active) throw new Error('initBackend() has not been called');
  return active;
}

/** One line for long commands to print, e.g. "backend: wasm (tensorflow unavailable: ...)". */
export function backendBanner(): string {
  const name = activeBackend();
  const skipped = AUTO_ORDER.slice(0, Math.max(AUTO_ORDER.indexOf(name), 0))
    .map((b) => `${b} unavailable: ${failures.get(b) ?? 'not requested'}`)
    .join('; ');
  let native = '';
  if (name === 'wasm' || name === 'aimc') {
    const info = nativeInfo();
    native =
      nativeMatMulInstalled() && info
        ? `, native kernels ${info.isa} x${info.threads}`
        : `, native kernels off: ${nativeUnavailableReason()}`;
  }
  return `backend: ${name}${native}${skipped ? ` (${skipped})` : ''}`;
}

/** wasm keeps every tensor in one 32-bit heap. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

/**
 * Bytes the active backend can hold in all (for refusing work that cannot fit before it
 * starts): wasm's 32-bit heap is 4 GiB; the other backends keep tensors in process memory,
 * bounded by the machine's.
 */
export function engineMemoryLimit(): { bytes: number; what: string } {
  const name = active ?? 'wasm';
  if (name === 'wasm')
    return { bytes: WASM_HEAP_BYTES, what: "the wasm engine's 4 GB heap (the aimc backend, with the native kernels, has no such ceiling)" };
  return { bytes: totalmem(), what: `this machine's ${(totalmem() / 2 ** 30).toFixed(0)} GB of memory` };
}
