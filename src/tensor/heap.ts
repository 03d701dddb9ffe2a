/**
 * Direct access to the wasm backend's heap: tensors there are plain Float32Array views,
 * which the fused JS loops and the native kernels read and write in place.
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's BackendWasm that aimc uses. */
export interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  refCount(dataId: object): number;
}

/** The active backend when it is wasm (heap access possible), else null. */
export function heapBackend(): HeapBackend | null {
  return tf.getBackend() === 'wasm' ? (tf.backend() as unknown as HeapBackend) : null;
}

/** A new, uninitialized float32 tensor on the heap. Take views only after all allocations. */
export function heapTensor(h: HeapBackend, shape: number[]): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(h.makeOutput(shape, 'float32'));
}
