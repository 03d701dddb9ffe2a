/**
 * LayerNorm over the last axis of x[M, N]: (x − mean)/sqrt(var + eps)·γ + β. Composed from
 * tfjs ops it is ~12 kernels forward and ~25 backward per call; the native engine runs both
 * directions as one pass each over heap views (float64 accumulation).
 */
import * as tf from '@tensorflow/tfjs';
import { heapTensor, type NativeEngine } from './engine.js';
import { defineKernel } from './kernel.js';

type Param = tf.Tensor1D | tf.Variable;

function reference(x: tf.Tensor2D, gamma: Param, beta: Param, eps = 1e-5): tf.Tensor2D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, 1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta) as tf.Tensor2D;
  });
}

function native(e: NativeEngine, x: tf.Tensor2D, gamma: Param, beta: Param, eps = 1e-5): tf.Tensor2D {
  const h = e.heap!;
  const f = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const [M, N] = xi.shape as [number, number];
    const y = heapTensor(h, [M, N]);
    const xhat = heapTensor(h, [M, N]);
    const rstd = heapTensor(h, [M]);
    // Views after every allocation (allocation may grow the heap and detach older views).
    const v = [xi, g, b, y, xhat, rstd].map((t) => h.typedArrayFromHeap(t)) as Float32Array[];
    e.lib.layerNorm(0, M, N, eps, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!, v[5]!);
    save([xhat, rstd, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xh, rs, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dx = heapTensor(h, [M, N]);
        const dg = heapTensor(h, [N]);
        const db = heapTensor(h, [N]);
        const w = [dy as tf.Tensor, xh, rs, gm, dx, dg, db].map((t) => h.typedArrayFromHeap(t)) as Float32Array[];
        e.lib.layerNorm(1, M, N, 0, w[0]!, w[1]!, w[2]!, w[3]!, w[4]!, w[5]!, w[6]!);
        return [dx, dg, db];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, gamma, beta) as tf.Tensor2D;
}

/** LayerNorm of x[M, N] over its last axis with scale γ[N] and shift β[N] (differentiable). */
export const layerNorm = defineKernel({ name: 'layerNorm', needs: 'heap', reference, native });
