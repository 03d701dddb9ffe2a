/**
 * im2col: the patches of x[B, H, W, C] for a kh×kw kernel, [B, Ho, Wo, kh·kw·C] ordered as a
 * [kh, kw, C, F] kernel flattens — how a convolution is mapped onto crossbar rows. The
 * reference is tfjs slices, pads and concats (each with a gradient); on the cpu backend those
 * copy element by element through generic buffers, 2 s for 300 MNIST images, so the engine
 * unrolls the typed arrays in one pass and its gradient adds the patches back (col2im).
 */
import * as tf from '@tensorflow/tfjs';
import { heapTensor, type NativeEngine } from './engine.js';
import { defineKernel } from './kernel.js';
import { col2imRows, im2colRows } from './conv.js';

export type Im2ColPadding = 'valid' | 'same';

/** Output size and TensorFlow padding of one axis. */
function axis(n: number, k: number, s: number, padding: Im2ColPadding): { out: number; before: number; after: number } {
  if (padding === 'valid') return { out: Math.floor((n - k) / s) + 1, before: 0, after: 0 };
  const out = Math.ceil(n / s);
  const pad = Math.max((out - 1) * s + k - n, 0);
  return { out, before: Math.floor(pad / 2), after: pad - Math.floor(pad / 2) };
}

function reference(x: tf.Tensor4D, kh: number, kw: number, sh: number, sw: number, padding: Im2ColPadding): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = x.shape;
    const ay = axis(H, kh, sh, padding);
    const ax = axis(W, kw, sw, padding);
    const [Ho, Wo] = [ay.out, ax.out];
    const xp =
      ay.before || ay.after || ax.before || ax.after
        ? tf.pad(x, [
            [0, 0],
            [ay.before, ay.after],
            [ax.before, ax.after],
            [0, 0],
          ])
        : x;
    // Slices, pads and reshapes only (each has a gradient in tfjs; StridedSlice has none): a
    // stride s takes every s-th row of a window padded to Ho·s and viewed as [Ho, s].
    const parts: tf.Tensor4D[] = [];
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        const win = tf.slice(xp, [0, i, j, 0], [B, (Ho - 1) * sh + 1, (Wo - 1) * sw + 1, C]) as tf.Tensor4D;
        if (sh === 1 && sw === 1) {
          parts.push(win);
          continue;
        }
        const full = tf.reshape(
          tf.pad(win, [
            [0, 0],
            [0, sh - 1],
            [0, sw - 1],
            [0, 0],
          ]),
          [B, Ho, sh, Wo, sw, C],
        );
        parts.push(tf.reshape(tf.slice(full, [0, 0, 0, 0, 0, 0], [B, Ho, 1, Wo, 1, C]), [B, Ho, Wo, C]) as tf.Tensor4D);
      }
    return (parts.length === 1 ? parts[0]! : tf.concat(parts, 3)) as tf.Tensor4D;
  });
}

function native(e: NativeEngine, x: tf.Tensor4D, kh: number, kw: number, sh: number, sw: number, padding: Im2ColPadding): tf.Tensor4D {
  const h = e.heap!;
  const [B, H, W, C] = x.shape;
  // The geometry the convolution kernels use (output size and padding by TensorFlow's rule).
  const info = tf.backend_util.computeConv2DInfo([B, H, W, C], [kh, kw, C, 1], [sh, sw], 1, padding);
  const rows = B * info.outHeight * info.outWidth;
  const shape = [B, info.outHeight, info.outWidth, kh * kw * C];
  const f = tf.customGrad(((xi: tf.Tensor4D) => {
    const y = heapTensor(h, shape);
    im2colRows(info, h.typedArrayFromHeap(xi), 0, rows, h.typedArrayFromHeap(y));
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const dx = heapTensor(h, [B, H, W, C]);
        const dxv = h.typedArrayFromHeap(dx);
        dxv.fill(0);
        col2imRows(info, h.typedArrayFromHeap(dy as tf.Tensor), 0, rows, dxv);
        return [dx];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor4D;
}

/**
 * Patches of x[B, H, W, C] for a kh×kw kernel at strides sh, sw ('valid' or TensorFlow's
 * 'same' padding): [B, Ho, Wo, kh·kw·C], differentiable.
 */
export const im2col = defineKernel({ name: 'im2col', reference, native, needs: 'heap' });
