/**
 * GELU — exact x·Φ(x) (RoBERTa's "gelu") or GPT-2's tanh approximation ("gelu_new") — with
 * its gradient: as tfjs ops five elementwise kernels forward and about ten backward over
 * every FFN activation; the native engine does each direction in one pass.
 */
import * as tf from '@tensorflow/tfjs';
import { heapTensor, type NativeEngine } from './engine.js';
import { defineKernel } from './kernel.js';

export type GeluApprox = 'erf' | 'tanh';

function reference(x: tf.Tensor, approx: GeluApprox = 'erf'): tf.Tensor {
  return tf.tidy(() => {
    if (approx === 'erf') return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

function native(e: NativeEngine, x: tf.Tensor, approx: GeluApprox = 'erf'): tf.Tensor {
  const h = e.heap!;
  const mode = approx === 'erf' ? 0 : 2;
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = heapTensor(h, xi.shape);
    const xv = h.typedArrayFromHeap(xi);
    e.lib.gelu(mode, xv, xv, h.typedArrayFromHeap(y));
    save([xi]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dx = heapTensor(h, xi.shape);
        e.lib.gelu(mode === 0 ? 1 : 3, h.typedArrayFromHeap(saved[0]!), h.typedArrayFromHeap(dy as tf.Tensor), h.typedArrayFromHeap(dx));
        return [dx];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor;
}

/** GELU of every element of x (differentiable). */
export const gelu = defineKernel({ name: 'gelu', needs: 'heap', reference, native });
