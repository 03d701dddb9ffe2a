/** Small ops whose stock tfjs gradients are slow on wasm, rebuilt from fast kernels. */
import * as tf from '@tensorflow/tfjs';
import { matMulT } from './matmul-grad.js';

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
