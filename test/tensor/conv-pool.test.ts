import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { nativeAddon } from '../../src/tensor/kernels/index.js';

/** Run `f` on a backend and return its outputs as plain arrays. */
async function on(backend: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  expect(await initBackend(backend)).toBe(backend);
  return tf.tidy(f).map((t) => {
    const v = t.dataSync() as Float32Array;
    t.dispose();
    return Float32Array.from(v);
  });
}

/** Largest |a − b| relative to the largest |b| (1 when shapes differ). */
function relErr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 1;
  let d = 0;
  let m = 1e-12;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

interface ConvCase {
  x: [number, number, number, number];
  k: [number, number, number, number];
  strides: [number, number];
  pad: 'valid' | 'same' | number;
  dilations?: [number, number];
}

const CASES: ConvCase[] = [
  { x: [3, 9, 8, 2], k: [3, 3, 2, 4], strides: [1, 1], pad: 'valid' },
  { x: [2, 10, 11, 3], k: [3, 2, 3, 5], strides: [2, 3], pad: 'same' },
  { x: [2, 7, 7, 1], k: [5, 5, 1, 3], strides: [2, 2], pad: 1 },
  { x: [1, 12, 9, 2], k: [3, 3, 2, 2], strides: [1, 1], pad: 'same', dilations: [2, 1] },
  // More unrolled patches than one chunk holds (63 504 rows × 100 > 4 Mi elements).
  { x: [4, 130, 130, 4], k: [5, 5, 4, 3], strides: [1, 1], pad: 'valid' },
];

const data = (c: ConvCase) =>
  [
    tf.randomNormal(c.x, 0, 1, 'float32', 11),
    tf.randomNormal(c.k, 0, 1, 'float32', 12),
    tf.randomNormal([c.k[3]], 0, 1, 'float32', 13),
  ] as const;

describe.runIf(nativeAddon() !== null)("aimc backend convolutions and pooling (im2col + SGEMM) against the cpu backend's kernels", () => {
  it.each(CASES)(
    'conv2d %o: forward, fused bias+relu, and both gradients',
    async (c) => {
      const run = () => {
        const [x, w, b] = data(c);
        const dil = c.dilations ?? [1, 1];
        const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad, 'NHWC', dil);
        const fused = tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          strides: c.strides,
          pad: c.pad,
          dilations: dil,
          bias: b,
          activation: 'relu',
        });
        if (dil[0] !== 1 || dil[1] !== 1) return [y, fused]; // tfjs defines no gradient with dilation
        // A fixed random cotangent, so every output element weighs differently.
        const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 14);
        const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.strides, c.pad), dy)),
        )([x, w]);
        const [fdx, fdw, fdb] = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.fused.conv2d({
                x: xx as tf.Tensor4D,
                filter: ww as tf.Tensor4D,
                strides: c.strides,
                pad: c.pad,
                bias: bb,
                activation: 'relu',
              }),
              dy,
            ),
          ),
        )([x, w, b]);
        return [y, fused, dx!, dw!, fdx!, fdw!, fdb!];
      };
      const ref = await on('cpu', run);
      const got = await on('aimc', run);
      expect(got.length).toBe(ref.length);
      // float32 sums of at most 63 504 terms in another order: relative error well under 1e-4.
      ref.forEach((r, i) => expect(relErr(got[i]!, r), `output ${i}`).toBeLessThan(1e-4));
    },
    60_000,
  );

  it.each([
    { x: [2, 8, 8, 3], size: 2, strides: 2, pad: 'valid' },
    { x: [2, 9, 7, 2], size: 3, strides: 2, pad: 'same' },
    { x: [1, 6, 6, 4], size: [3, 2], strides: [1, 2], pad: 'valid' },
  ] as const)('maxPool %o: forward and gradient, ties to the first maximum as the reference', async (c) => {
    const run = () => {
      // Small integers: many windows hold tied maxima.
      const x = tf.round(tf.mul(tf.randomUniform(c.x as unknown as number[], 0, 1, 'float32', 21), 3));
      const y = tf.maxPool(x as tf.Tensor4D, c.size as number, c.strides as number, c.pad);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 22);
      const dx = tf.grad((xx: tf.Tensor) =>
        tf.sum(tf.mul(tf.maxPool(xx as tf.Tensor4D, c.size as number, c.strides as number, c.pad), dy)),
      )(x);
      return [y, dx];
    };
    const ref = await on('cpu', run);
    const got = await on('aimc', run);
    ref.forEach((r, i) => expect(relErr(got[i]!, r), `output ${i}`).toBeLessThan(1e-6));
  });

  it('falls back to the reference for what it does not cover (channels-first)', async () => {
    const run = () => [
      tf.conv2d(
        tf.randomNormal([1, 2, 6, 6], 0, 1, 'float32', 31) as tf.Tensor4D,
        tf.randomNormal([3, 3, 2, 2], 0, 1, 'float32', 32) as tf.Tensor4D,
        1,
        'valid',
        'NCHW',
      ),
    ];
    const ref = await on('cpu', run).catch((e: Error) => e);
    const got = await on('aimc', run).catch((e: Error) => e);
    // The cpu backend itself refuses NCHW; aimc must give the same answer, not a wrong number.
    if (ref instanceof Error) expect(got).toBeInstanceOf(Error);
    else expect(relErr((got as Float32Array[])[0]!, ref[0]!)).toBeLessThan(1e-5);
  });
});
