/**
 * Mean softmax cross-entropy of logits[N, V] against integer targets (nats per counted row;
 * rows with a negative target are ignored). As tfjs ops the one-hot loss runs ~10 kernels
 * over N·V elements each way — for a decoder's LM head ([B·T, vocab], 33 M elements) most of
 * a training step; the native engine writes the loss and the gradient in one pass.
 */
import * as tf from '@tensorflow/tfjs';
import { heapTensor, type NativeEngine } from './engine.js';
import { defineKernel } from './kernel.js';

/** Number of counted rows; throws on a length mismatch or a target outside [0, V). */
function countTargets(N: number, V: number, targets: Int32Array): number {
  if (targets.length !== N) throw new Error(`softmaxCrossEntropy: ${targets.length} targets for ${N} rows`);
  let count = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i]!;
    if (t >= V) throw new Error(`softmaxCrossEntropy: target ${t} out of range [0, ${V})`);
    if (t >= 0) count++;
  }
  return count;
}

function reference(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  const [N, V] = logits.shape;
  const n = Math.max(countTargets(N, V, targets), 1);
  return tf.tidy(() => {
    const keep = Int32Array.from(targets, (t) => (t >= 0 ? 1 : 0));
    const ids = tf.tensor1d(
      Int32Array.from(targets, (t) => Math.max(t, 0)),
      'int32',
    );
    const oh = tf.mul(tf.oneHot(ids, V), tf.tensor2d(keep, [N, 1]).toFloat());
    return tf.div(tf.neg(tf.sum(tf.mul(oh, tf.logSoftmax(logits)))), n) as tf.Scalar;
  });
}

function native(e: NativeEngine, logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  const h = e.heap!;
  const [N, V] = logits.shape;
  const scale = 1 / Math.max(countTargets(N, V, targets), 1);
  const f = tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
    const grad = heapTensor(h, [N, V]);
    const rows = heapTensor(h, [N]);
    const lv = h.typedArrayFromHeap(rows);
    e.lib.softmaxXent(N, V, h.typedArrayFromHeap(z), targets, scale, lv, h.typedArrayFromHeap(grad));
    let sum = 0;
    for (let i = 0; i < N; i++) sum += lv[i]!;
    rows.dispose();
    save([grad]);
    return {
      value: tf.scalar(sum * scale),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [tf.mul(saved[0]!, dy as tf.Tensor)],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(logits) as tf.Scalar;
}

/** Mean cross-entropy of softmax(logits[N, V]) against targets[N] (−1 = ignore), differentiable. */
export const softmaxCrossEntropy = defineKernel({ name: 'softmaxCrossEntropy', needs: 'heap', reference, native });
