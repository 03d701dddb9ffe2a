/**
 * BatchMatMul gradient built from explicit transposes.
 *
 * tfjs's stock gradient calls matMul with transposeA/transposeB flags, which the wasm
 * backend runs 12–25x slower than a plain matMul on an explicitly transposed operand
 * (../shared/PERF.md). Every backward pass through a linear layer hits it, so we replace
 * the registered gradient once per process.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeMatMulActive } from './kernels/index.js';

/** Swap the last two axes (explicit transpose; rank >= 2). */
export function transposeLast2(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
}

/**
 * op(a)·op(b) without tfjs's slow flagged wasm path: explicit transposes, unless the native
 * kernels are installed — their packing absorbs transposes for free, so flags are cheaper
 * than materializing the transpose.
 */
export function matMulT(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if ((transposeA || transposeB) && nativeMatMulActive()) return tf.matMul(a, b, transposeA, transposeB);
  return tf.matMul(transposeA ? transposeLast2(a) : a, transposeB ? transposeLast2(b) : b);
}

let installed = false;

/** The gradient config we register (exported so a test can check it is the active one). */
export const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    // y = op(a)·op(b); each case is the textbook derivative, with every transposed
    // operand materialized so the underlying matMul runs without flags.
    if (!transposeA && !transposeB) {
      return { a: () => matMulT(g, b, false, true), b: () => matMulT(a, g, true, false) };
    }
    if (!transposeA && transposeB) {
      return { a: () => matMulT(g, b), b: () => matMulT(g, a, true, false) };
    }
    if (transposeA && !transposeB) {
      return { a: () => matMulT(b, g, false, true), b: () => matMulT(a, g) };
    }
    return { a: () => matMulT(b, g, true, true), b: () => matMulT(g, a, true, true) };
  },
};

/** Register the fast BatchMatMul gradient (idempotent). */
export function installMatMulGradient(): void {
  if (installed) return;
  installed = true;
  tf.registerGradient(batchMatMulGradConfig);
}
