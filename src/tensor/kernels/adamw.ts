/**
 * One AdamW update of a variable and its two moments, as PyTorch's AdamW:
 *   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  w = w·decay − c1 · m / (sqrt(v)·c2 + ε)
 * with c1 = lr/(1−β1^t), c2 = 1/sqrt(1−β2^t), decay = 1 − lr·λ. As tfjs ops ~7 small kernels
 * per variable plus copies for assign; the native engine updates all three in place on the
 * heap in one pass — only when nobody else holds the buffers (the wasm Identity shares them),
 * else the reference runs.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeEngine } from './engine.js';
import { defineKernel } from './kernel.js';

/** Coefficients of one step (see the formula above). */
export interface AdamWStep {
  beta1: number;
  beta2: number;
  c1: number;
  c2: number;
  eps: number;
  decay: number;
}

function reference(w: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, k: AdamWStep): void {
  tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, k.beta1), tf.mul(g, 1 - k.beta1));
    const v1 = tf.add(tf.mul(v, k.beta2), tf.mul(tf.square(g), 1 - k.beta2));
    m.assign(m1);
    v.assign(v1);
    w.assign(tf.sub(tf.mul(w, k.decay), tf.mul(tf.div(m1, tf.add(tf.mul(tf.sqrt(v1), k.c2), k.eps)), k.c1)));
  });
}

function native(e: NativeEngine, w: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, k: AdamWStep): void {
  const h = e.heap!;
  if (h.refCount(w.dataId) !== 1 || h.refCount(m.dataId) !== 1 || h.refCount(v.dataId) !== 1) return reference(w, g, m, v, k);
  const view = (t: tf.Tensor) => h.typedArrayFromHeap(t);
  e.lib.adamw(view(w), view(g), view(m), view(v), k.beta1, k.beta2, k.c1, k.c2, k.eps, k.decay);
}

/** Update variable w with gradient g and moments m, v in place (one AdamW step). */
export const adamwUpdate = defineKernel({ name: 'adamwUpdate', needs: 'heap', reference, native });
