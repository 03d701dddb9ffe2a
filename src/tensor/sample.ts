/**
 * Random tensors from named streams. On wasm the draws are written straight into a freshly
 * allocated heap tensor (no upload copy: for 4M samples the copy cost as much as a third of
 * the sampling); elsewhere they go through a Float32Array and tf.tensor.
 */
import * as tf from '@tensorflow/tfjs';
import type { RandomStream } from './random.js';
import { heapBackend, heapTensor } from './heap.js';

function drawTensor(shape: number[], fill: (out: Float32Array) => void): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const h = heapBackend();
  if (h) {
    const t = heapTensor(h, shape);
    fill(h.typedArrayFromHeap(t));
    return t;
  }
  const arr = new Float32Array(n);
  fill(arr);
  return tf.tensor(arr, shape, 'float32');
}

/** N(0,1) draws of a shape as a tensor. */
export function normalTensor(rng: RandomStream, shape: number[]): tf.Tensor {
  return drawTensor(shape, (out) => rng.normal(out));
}

/** U[0,1) draws of a shape as a tensor. */
export function uniformTensor(rng: RandomStream, shape: number[]): tf.Tensor {
  return drawTensor(shape, (out) => rng.uniform(out));
}
