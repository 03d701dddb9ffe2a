/**
 * The `aimc` backend: tfjs's cpu backend — tensors are ordinary JS typed arrays, so there is
 * no 32-bit heap and no 4 GB ceiling on everything a run holds — with the native engine's
 * kernels registered for the hot operations (the matmuls; the kernels of this folder reach
 * its tensors in place through `heap`). Every other operation runs the cpu backend's own
 * kernel, registered here under this backend's name.
 */
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { nativeAddon, type HeapBackend } from './engine.js';
import { registerAimcOps } from './aimc-ops.js';

export const AIMC_BACKEND = 'aimc';

export class AimcBackend extends MathBackendCPU {
  /** In-place access for the native kernels (same contract as the wasm heap). */
  readonly heap: HeapBackend = {
    makeOutput: (shape, dtype) => {
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
      return { dataId: this.write(values, shape, dtype), shape, dtype };
    },
    typedArrayFromHeap: (t) => {
      const v = this.data.get(t.dataId)?.values;
      if (v instanceof Float32Array) return v;
      // The cpu backend keeps some float32 tensors in another container (e.g. a plain Array or
      // a typed array of another type from the tensor's constructor): convert once, in place.
      if (t.dtype === 'float32' && v && typeof (v as ArrayLike<number>).length === 'number') {
        const f = Float32Array.from(v as ArrayLike<number>);
        this.data.get(t.dataId)!.values = f;
        return f;
      }
      throw new Error(
        `aimc backend: tensor of dtype ${t.dtype} has no float32 storage (${v === undefined ? 'no data' : Object.prototype.toString.call(v)})`,
      );
    },
    refCount: (dataId) => this.refCount(dataId),
  };
}

let registered = false;

/** Register the backend and a copy of every cpu kernel under its name (idempotent). */
export function registerAimcBackend(): void {
  if (registered) return;
  registered = true;
  tf.registerBackend(AIMC_BACKEND, () => new AimcBackend(), 0);
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: AIMC_BACKEND });
  const lib = nativeAddon();
  if (lib) registerAimcOps(lib, AIMC_BACKEND);
}
