/**
 * Small ops whose stock tfjs gradients are slow on wasm, rebuilt from fast kernels; and the
 * model-facing names of the kernels in ./kernels (LayerNorm, GELU, the cross-entropy).
 */
import * as tf from '@tensorflow/tfjs';
import { matMulT } from './matmul-grad.js';

export { gelu, layerNorm, softmaxCrossEntropy, type GeluApprox } from './kernels/index.js';

/**
 * x[M, N] + b[N]. The stock gradient of a broadcast Add reduces dy over rows with Sum,
 * which wasm runs as transpose + reduce (~0.5 ms for [1024, 384]); here db = 1ᵀ·dy is a
 * matmul, which the native kernels (or wasm's GEMM) do in a few microseconds.
 */
export const addBias = tf.customGrad(((x: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  const rows = x.shape[0]!;
  save([tf.ones([1, rows])]);
  return {
    value: tf.add(x, b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      return [g, tf.reshape(matMulT(saved[0]!, g), b.shape)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, b: tf.Tensor1D | tf.Variable) => tf.Tensor2D;

/**
 * Embedding lookup table[ids] → [N, D] whose gradient scatters rows back with a loop: tfjs's
 * Gather gradient needs UnsortedSegmentSum, which the wasm backend does not implement.
 */
export function embeddingLookup(table: tf.Tensor2D | tf.Variable, ids: Int32Array): tf.Tensor2D {
  const [V, D] = table.shape as [number, number];
  const f = tf.customGrad(((t: tf.Tensor) => {
    const idx = tf.tensor1d(ids, 'int32');
    const value = tf.gather(t, idx);
    idx.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const g = (dy as tf.Tensor).dataSync();
        const out = new Float32Array(V * D);
        for (let n = 0; n < ids.length; n++) {
          const o = ids[n]! * D;
          const r = n * D;
          for (let j = 0; j < D; j++) out[o + j] = out[o + j]! + g[r + j]!;
        }
        return [tf.tensor2d(out, [V, D])];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(table) as tf.Tensor2D;
}

/**
 * Σ of every element of the tensors — finite iff every element is, so it doubles as a
 * finiteness check: one Sum kernel per tensor and one read-back (wasm: ~0.85 ms per million
 * values, faster than a JS loop over heap views, ~2 ms).
 */
export function sumAll(ts: tf.Tensor[]): number {
  if (!ts.length) return 0;
  return tf.tidy(() => tf.addN(ts.map((t) => tf.sum(t))).dataSync()[0]!);
}
