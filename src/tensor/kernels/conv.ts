/**
 * 2-D convolutions for the aimc backend as im2col + the native SGEMM: the cpu backend's own
 * Conv2D kernels are the reference (and run whatever these do not cover: channels-first,
 * other dtypes); its backward kernels loop over every output element in JS and take seconds
 * per batch for a small CNN, which made convolutional models untrainable on the embedded
 * engine. Forward, the filter gradient and the input gradient are each one matmul over the
 * unrolled patches, built chunk by chunk so the patch buffer stays bounded.
 */
import * as tf from '@tensorflow/tfjs';
import { heapOf, overrideKernel, type HeapBackend, type KernelArgs, type NativeAddon } from './engine.js';
import { epilogue, FUSED_ACTIVATIONS } from './matmul.js';

/** Most float32 elements of one chunk of unrolled patches (16 MB). */
const PATCH_CHUNK_ELEMENTS = 1 << 22;

type ConvInfo = tf.backend_util.Conv2DInfo;

/** The geometry of a channels-last conv, or null when the native path does not cover it. */
function geometry(
  xShape: number[],
  filterShape: number[],
  attrs: Record<string, unknown>,
  dilations: number | [number, number],
): ConvInfo | null {
  const format = (attrs.dataFormat ?? 'NHWC') as string;
  if (format !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4) return null;
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    dilations,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

/**
 * How a conv's unrolled patches are worked through: K = kh·kw·C patch entries, F filters, the
 * output rows (b, oy, ox) in chunks [r0, r1) whose patches fit one buffer, and that buffer.
 */
function patchPlan(c: ConvInfo): { K: number; F: number; ranges: [number, number][]; buffer: Float32Array } {
  const rows = c.batchSize * c.outHeight * c.outWidth;
  const K = c.filterHeight * c.filterWidth * c.inChannels;
  const step = Math.max(1, Math.floor(PATCH_CHUNK_ELEMENTS / Math.max(K, 1)));
  const ranges: [number, number][] = [];
  for (let r0 = 0; r0 < rows; r0 += step) ranges.push([r0, Math.min(rows, r0 + step)]);
  return { K, F: c.outChannels, ranges, buffer: new Float32Array(Math.min(rows, step) * K) };
}

/**
 * Walk the patches of output rows [r0, r1): for each (row, patch column) that lands inside the
 * input, call `f(patchIndex, inputIndex)`; patch entries in the padding are left to the caller.
 */
function forEachPatch(c: ConvInfo, r0: number, r1: number, f: (p: number, i: number) => void): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = c;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const K = kh * kw * C;
  for (let r = r0; r < r1; r++) {
    const b = Math.floor(r / (Ho * Wo));
    const oy = Math.floor(r / Wo) % Ho;
    const ox = r % Wo;
    const base = (r - r0) * K;
    for (let ky = 0; ky < kh; ky++) {
      const y = oy * sh - c.padInfo.top + ky * dh;
      if (y < 0 || y >= H) continue;
      for (let kx = 0; kx < kw; kx++) {
        const x = ox * sw - c.padInfo.left + kx * dw;
        if (x < 0 || x >= W) continue;
        const p = base + (ky * kw + kx) * C;
        const i = ((b * H + y) * W + x) * C;
        f(p, i);
      }
    }
  }
}

/** Unroll the patches of output rows [r0, r1) of x into cols [(r1 − r0), kh·kw·C] (zeros in the padding). */
export function im2colRows(c: ConvInfo, x: Float32Array, r0: number, r1: number, cols: Float32Array): void {
  const C = c.inChannels;
  cols.fill(0, 0, (r1 - r0) * c.filterHeight * c.filterWidth * C);
  forEachPatch(c, r0, r1, (p, i) => {
    for (let ch = 0; ch < C; ch++) cols[p + ch] = x[i + ch]!;
  });
}

/** Add the patch gradients of output rows [r0, r1) back onto the input gradient dx. */
export function col2imRows(c: ConvInfo, dcols: Float32Array, r0: number, r1: number, dx: Float32Array): void {
  const C = c.inChannels;
  forEachPatch(c, r0, r1, (p, i) => {
    for (let ch = 0; ch < C; ch++) dx[i + ch] = dx[i + ch]! + dcols[p + ch]!;
  });
}

/** y[B, Ho, Wo, F] = conv(x, w) natively; null when not covered. */
function conv2dForward(lib: NativeAddon, h: HeapBackend, x: tf.TensorInfo, w: tf.TensorInfo, attrs: Record<string, unknown>) {
  if (x.dtype !== 'float32' || w.dtype !== 'float32') return null;
  const c = geometry(x.shape, w.shape, attrs, (attrs.dilations ?? 1) as number | [number, number]);
  if (!c) return null;
  const out = h.makeOutput(c.outShape, 'float32');
  const xv = h.typedArrayFromHeap(x);
  const wv = h.typedArrayFromHeap(w);
  const yv = h.typedArrayFromHeap(out);
  const { K, F, ranges, buffer: cols } = patchPlan(c);
  for (const [r0, r1] of ranges) {
    im2colRows(c, xv, r0, r1, cols);
    lib.sgemm(r1 - r0, F, K, cols, wv, yv.subarray(r0 * F, r1 * F), false, false, false);
  }
  return { out, F };
}

/** dW[kh, kw, C, F] = Σ patchesᵀ · dy. */
function conv2dFilterGrad(lib: NativeAddon, h: HeapBackend, x: tf.TensorInfo, dy: tf.TensorInfo, attrs: Record<string, unknown>) {
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const filterShape = attrs.filterShape as number[];
  const c = geometry(x.shape, filterShape, attrs, 1);
  if (!c || c.outHeight !== dy.shape[1] || c.outWidth !== dy.shape[2]) return null;
  const out = h.makeOutput(filterShape, 'float32');
  const xv = h.typedArrayFromHeap(x);
  const dyv = h.typedArrayFromHeap(dy);
  const dwv = h.typedArrayFromHeap(out);
  const { K, F, ranges, buffer: cols } = patchPlan(c);
  // The first chunk writes dW, later ones add to it; no output rows at all leave dW zero.
  ranges.forEach(([r0, r1], k) => {
    im2colRows(c, xv, r0, r1, cols);
    lib.sgemm(K, F, r1 - r0, cols, dyv.subarray(r0 * F, r1 * F), dwv, true, false, k > 0);
  });
  if (!ranges.length) dwv.fill(0);
  return out;
}

/** dx[B, H, W, C] = col2im(dy · Wᵀ). */
function conv2dInputGrad(lib: NativeAddon, h: HeapBackend, dy: tf.TensorInfo, w: tf.TensorInfo, attrs: Record<string, unknown>) {
  if (dy.dtype !== 'float32' || w.dtype !== 'float32') return null;
  const inputShape = attrs.inputShape as number[];
  const c = geometry(inputShape, w.shape, attrs, 1);
  if (!c || c.outHeight !== dy.shape[1] || c.outWidth !== dy.shape[2]) return null;
  const out = h.makeOutput(inputShape, 'float32');
  const dyv = h.typedArrayFromHeap(dy);
  const wv = h.typedArrayFromHeap(w);
  const dxv = h.typedArrayFromHeap(out);
  dxv.fill(0);
  const { K, F, ranges, buffer: dcols } = patchPlan(c);
  for (const [r0, r1] of ranges) {
    lib.sgemm(r1 - r0, K, F, dyv.subarray(r0 * F, r1 * F), wv, dcols, false, true, false);
    col2imRows(c, dcols, r0, r1, dxv);
  }
  return out;
}

/** Register the native Conv2D, FusedConv2D and both Conv2D gradients for `backendName`. */
export function registerConvKernels(lib: NativeAddon, backendName: string): void {
  const over = (name: string, impl: (args: KernelArgs, h: HeapBackend) => tf.TensorInfo | null) =>
    overrideKernel(backendName, name, (args, original) => impl(args, heapOf(args.backend)) ?? original(args));
  over(tf.Conv2D, ({ inputs, attrs }, h) => conv2dForward(lib, h, inputs.x!, inputs.filter!, attrs ?? {})?.out ?? null);
  over(tf.FusedConv2D, ({ inputs, attrs }, h) => {
    const a = (attrs ?? {}) as Record<string, unknown> & { activation?: string; leakyreluAlpha?: number };
    const act = a.activation ?? 'linear';
    const { bias, preluActivationWeights } = inputs;
    if (preluActivationWeights || (bias && bias.dtype !== 'float32') || !FUSED_ACTIVATIONS.includes(act)) return null;
    const r = conv2dForward(lib, h, inputs.x!, inputs.filter!, a);
    if (!r) return null;
    const bv = bias ? h.typedArrayFromHeap(bias) : null;
    if (bias && bv!.length !== 1 && bv!.length !== r.F) {
      tf.engine().disposeTensor(tf.engine().makeTensorFromTensorInfo(r.out));
      return null;
    }
    epilogue(h.typedArrayFromHeap(r.out), r.F, bv, act, a.leakyreluAlpha ?? 0.2);
    return r.out;
  });
  over(tf.Conv2DBackpropFilter, ({ inputs, attrs }, h) => conv2dFilterGrad(lib, h, inputs.x!, inputs.dy!, attrs ?? {}));
  over(tf.Conv2DBackpropInput, ({ inputs, attrs }, h) => conv2dInputGrad(lib, h, inputs.dy!, inputs.filter!, attrs ?? {}));
}
