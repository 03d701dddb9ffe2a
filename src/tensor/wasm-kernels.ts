/**
 * Kernel overrides for the wasm backend that need no native code.
 *
 * Identity: tfjs clones every tensor a gradient saves for the backward pass (two per
 * matmul, one per activation, …); wasm's Identity copies the buffer, the cpu backend's just
 * shares it with a reference count. A 4-layer encoder step made ~190 such copies (~12 ms).
 * Buffers are immutable in tfjs, so sharing is what cpu already does; the one place aimc
 * writes a buffer in place (AdamW) checks the reference count first.
 */
import * as tf from '@tensorflow/tfjs';

interface RefBackend {
  incRef(dataId: object): void;
}

let original: tf.KernelConfig | null = null;

/** Register the sharing Identity for wasm (idempotent). */
export function installWasmKernels(): void {
  if (original) return;
  const cfg = tf.getKernel(tf.Identity, 'wasm');
  if (!cfg) return;
  original = cfg;
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel({
    kernelName: tf.Identity,
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend }: { inputs: { x: tf.TensorInfo }; backend: unknown }) => {
      const { x } = inputs;
      (backend as RefBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    }) as unknown as tf.KernelFunc,
  });
}

/** Restore wasm's copying Identity. */
export function uninstallWasmKernels(): void {
  if (!original) return;
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel(original);
  original = null;
}
