/**
 * 2-D max pooling for the aimc backend on the typed arrays directly: the cpu backend's
 * MaxPool and MaxPoolGrad are the reference (and run whatever these do not cover); its
 * gradient reads every element through a generic buffer and took a quarter of a second per
 * MNIST batch, more than the rest of a small CNN's step. Ties go to the first maximum of a
 * window in row-major order, NaN never wins, as the reference's positions do.
 */
import * as tf from '@tensorflow/tfjs';
import { heapOf, overrideKernel, type HeapBackend, type KernelArgs } from './engine.js';

type PoolInfo = tf.backend_util.Conv2DInfo;

function poolGeometry(xShape: number[], attrs: Record<string, unknown>): PoolInfo | null {
  if (xShape.length !== 4) return null;
  return tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
}

/**
 * For each output element (b, oy, ox, d) the flat input index of its window's maximum (−1 when
 * the window holds no number), and the maximum itself.
 */
function argmaxWindows(p: PoolInfo, x: Float32Array, out: Float32Array | null, arg: Int32Array | null): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = p;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = p;
  const { top, left } = p.padInfo;
  let o = 0;
  for (let b = 0; b < B; b++)
    for (let oy = 0; oy < Ho; oy++) {
      const y0 = oy * sh - top;
      const ya = Math.max(0, y0);
      const yb = Math.min(H, y0 + kh);
      for (let ox = 0; ox < Wo; ox++) {
        const x0 = ox * sw - left;
        const xa = Math.max(0, x0);
        const xb = Math.min(W, x0 + kw);
        for (let d = 0; d < C; d++, o++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let y = ya; y < yb; y++)
            for (let xx = xa; xx < xb; xx++) {
              const i = ((b * H + y) * W + xx) * C + d;
              const v = x[i]!;
              if (v > best) {
                best = v;
                at = i;
              }
            }
          if (out) out[o] = at < 0 ? Number.NEGATIVE_INFINITY : best;
          if (arg) arg[o] = at;
        }
      }
    }
}

/** Register the typed-array MaxPool and MaxPoolGrad for `backendName`. */
export function registerPoolKernels(backendName: string): void {
  const over = (name: string, impl: (args: KernelArgs, h: HeapBackend) => tf.TensorInfo | null) =>
    overrideKernel(backendName, name, (args, original) => impl(args, heapOf(args.backend)) ?? original(args));
  over(tf.MaxPool, ({ inputs, attrs }, h) => {
    const x = inputs.x!;
    const p = x.dtype === 'float32' ? poolGeometry(x.shape, attrs ?? {}) : null;
    // The reference returns its input for a 1×1 window at stride 1; so does it here.
    if (!p || (p.filterHeight === 1 && p.filterWidth === 1 && p.strideHeight === 1 && p.strideWidth === 1)) return null;
    const out = h.makeOutput(p.outShape, 'float32');
    argmaxWindows(p, h.typedArrayFromHeap(x), h.typedArrayFromHeap(out), null);
    return out;
  });
  over(tf.MaxPoolGrad, ({ inputs, attrs }, h) => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const p = dy.dtype === 'float32' && input.dtype === 'float32' ? poolGeometry(input.shape, attrs ?? {}) : null;
    if (!p || p.outHeight !== dy.shape[1] || p.outWidth !== dy.shape[2]) return null;
    const arg = new Int32Array(dy.shape.reduce((a, b) => a * b, 1));
    const out = h.makeOutput(input.shape, 'float32');
    argmaxWindows(p, h.typedArrayFromHeap(input), null, arg);
    const dyv = h.typedArrayFromHeap(dy);
    const dx = h.typedArrayFromHeap(out);
    dx.fill(0);
    for (let o = 0; o < arg.length; o++) if (arg[o]! >= 0) dx[arg[o]!] = dx[arg[o]!]! + dyv[o]!;
    return out;
  });
}
