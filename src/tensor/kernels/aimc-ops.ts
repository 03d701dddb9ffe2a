/**
 * Native kernels for the aimc backend's generic operations: the cpu backend's own kernels are
 * the reference (and run whatever these do not cover: other dtypes, other axes); the native
 * engine does float32 transposes, broadcasting add/sub/mul/div, ReLU and its step, last-axis softmax, and
 * sums and means over contiguous axes in place on the backend's typed arrays, split over the pool
 * (native/tensor_ops.cc).
 */
import * as tf from '@tensorflow/tfjs';
import { heapOf, overrideKernel, type HeapBackend, type KernelArgs, type NativeAddon } from './engine.js';

const BINARY_OPS: Record<string, number> = { [tf.Add]: 0, [tf.Sub]: 1, [tf.Multiply]: 2, [tf.RealDiv]: 3 };

/** numpy broadcasting (tfjs's own rule) of two shapes, each padded to the result's rank. */
function broadcast(a: number[], b: number[]): { a: number[]; b: number[]; out: number[] } {
  const out = tf.backend_util.assertAndGetBroadcastShape(a, b);
  const pad = (s: number[]) => [...Array<number>(out.length - s.length).fill(1), ...s];
  return { a: pad(a), b: pad(b), out };
}

/**
 * A reduction over `axis` of `shape` as in[k1, r, k2] (the reduced axes contiguous once size-1
 * axes are ignored), with tfjs's output shape; null when the axes are not contiguous.
 */
export function reductionPlan(shape: number[], axis: number | number[] | null | undefined, keepDims: boolean) {
  const rank = shape.length;
  const axes = [...new Set((axis == null ? [...shape.keys()] : Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))];
  if (axes.some((a) => a < 0 || a >= rank)) return null;
  const reduced = shape.map((_, d) => axes.includes(d));
  const live = [...shape.keys()].filter((d) => shape[d]! !== 1 && reduced[d]);
  const first = live.length ? live[0]! : rank;
  const last = live.length ? live[live.length - 1]! : rank - 1;
  for (let d = first; d <= last; d++) if (!reduced[d] && shape[d]! !== 1) return null;
  const prod = (a: number, b: number) => shape.slice(a, b).reduce((x, y) => x * y, 1);
  const out = keepDims ? shape.map((n, d) => (reduced[d] ? 1 : n)) : shape.filter((_, d) => !reduced[d]);
  return { k1: prod(0, first), r: prod(first, last + 1), k2: prod(last + 1, rank), out };
}

/** Register the native kernels for `backendName` over its existing (cpu) kernels. */
export function registerAimcOps(lib: NativeAddon, backendName: string): void {
  const over = (name: string, impl: (args: KernelArgs, h: HeapBackend) => tf.TensorInfo | null) =>
    overrideKernel(backendName, name, (args, original) => impl(args, heapOf(args.backend)) ?? original(args));
  over(tf.Transpose, ({ inputs, attrs }, h) => {
    const x = inputs.x!;
    const perm = (attrs?.perm ?? []) as number[];
    if (x.dtype !== 'float32' || x.shape.length === 0 || x.shape.length > 8) return null;
    const out = h.makeOutput(
      perm.map((p) => x.shape[p]!),
      'float32',
    );
    lib.transpose(h.typedArrayFromHeap(x), Int32Array.from(x.shape), Int32Array.from(perm), h.typedArrayFromHeap(out));
    return out;
  });
  for (const [name, op] of Object.entries(BINARY_OPS)) {
    over(name, ({ inputs }, h) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
      const s = broadcast(a.shape, b.shape);
      if (s.out.length > 8) return null;
      const out = h.makeOutput(s.out, 'float32');
      const shape = (v: number[]) => Int32Array.from(v);
      lib.binary(op, h.typedArrayFromHeap(a), shape(s.a), h.typedArrayFromHeap(b), shape(s.b), shape(s.out), h.typedArrayFromHeap(out));
      return { ...out, shape: s.out };
    });
  }
  for (const [name, op] of [
    [tf.Relu, 0],
    [tf.Step, 1],
  ] as const) {
    over(name, ({ inputs, attrs }, h) => {
      const x = inputs.x!;
      if (x.dtype !== 'float32') return null;
      const out = h.makeOutput(x.shape, 'float32');
      lib.unary(op, h.typedArrayFromHeap(x), (attrs?.alpha ?? 0) as number, h.typedArrayFromHeap(out));
      return out;
    });
  }
  for (const [name, mean] of [
    [tf.Sum, false],
    [tf.Mean, true],
  ] as const) {
    over(name, ({ inputs, attrs }, h) => {
      const x = inputs.x!;
      const a = (attrs ?? {}) as { axis?: number | number[] | null; keepDims?: boolean };
      if (x.dtype !== 'float32' || (Array.isArray(a.axis) && a.axis.length === 0)) return null;
      const p = reductionPlan(x.shape, a.axis, !!a.keepDims);
      if (!p) return null;
      const out = h.makeOutput(p.out, 'float32');
      const o = h.typedArrayFromHeap(out);
      lib.reduceSum(h.typedArrayFromHeap(x), p.k1, p.r, p.k2, o);
      if (mean) for (let i = 0; i < o.length; i++) o[i] = o[i]! / p.r;
      return out;
    });
  }
  // Comparisons (dropout masks, bound management, the physics' conditions): tight loops for
  // equal shapes and a scalar side; the cpu kernel's per-element index arithmetic otherwise.
  for (const [name, cmp] of [
    [tf.Greater, (x: number, y: number) => x > y],
    [tf.GreaterEqual, (x: number, y: number) => x >= y],
    [tf.Less, (x: number, y: number) => x < y],
    [tf.LessEqual, (x: number, y: number) => x <= y],
  ] as const) {
    over(name, ({ inputs, backend }, h) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const n = (t: tf.TensorInfo) => t.shape.reduce((p, q) => p * q, 1);
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
      const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
      let shape: number[];
      if (same) shape = a.shape;
      else if (n(b) === 1 && a.shape.length >= b.shape.length) shape = a.shape;
      else if (n(a) === 1 && b.shape.length >= a.shape.length) shape = b.shape;
      else return null;
      const x = h.typedArrayFromHeap(a);
      const y = h.typedArrayFromHeap(b);
      const out = new Uint8Array(shape.reduce((p, q) => p * q, 1));
      if (same) for (let i = 0; i < out.length; i++) out[i] = cmp(x[i]!, y[i]!) ? 1 : 0;
      else if (n(b) === 1) {
        const v = y[0]!;
        for (let i = 0; i < out.length; i++) out[i] = cmp(x[i]!, v) ? 1 : 0;
      } else {
        const v = x[0]!;
        for (let i = 0; i < out.length; i++) out[i] = cmp(v, y[i]!) ? 1 : 0;
      }
      // Bool output: the cpu backend's own container (Uint8Array), not a float32 heap output.
      return (backend as { makeTensorInfo(s: number[], d: tf.DataType, v: Uint8Array): tf.TensorInfo }).makeTensorInfo(shape, 'bool', out);
    });
  }
  // Row gathers (embedding lookups): one copy per row instead of per-element index arithmetic.
  over(tf.GatherV2, ({ inputs, attrs, backend }, h) => {
    const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = (attrs ?? {}) as { axis?: number; batchDims?: number };
    if (x.dtype !== 'float32' || indices.dtype !== 'int32' || (axis ?? 0) !== 0 || (batchDims ?? 0) !== 0 || x.shape.length < 1)
      return null;
    const idx = (backend as { data: { get(id: object): { values: unknown } } }).data.get(indices.dataId).values as Int32Array;
    const rows = x.shape[0]!;
    for (let i = 0; i < idx.length; i++) if (!(idx[i]! >= 0 && idx[i]! < rows)) return null; // the cpu kernel's error names the index
    const w = x.shape.slice(1).reduce((p, q) => p * q, 1);
    const out = h.makeOutput([...indices.shape, ...x.shape.slice(1)], 'float32');
    const src = h.typedArrayFromHeap(x);
    const dst = h.typedArrayFromHeap(out);
    for (let i = 0; i < idx.length; i++) dst.set(src.subarray(idx[i]! * w, idx[i]! * w + w), i * w);
    return out;
  });
  over(tf.Softmax, ({ inputs, attrs }, h) => {
    const x = inputs.logits!;
    const dim = (attrs?.dim ?? -1) as number;
    const r = x.shape.length;
    if (x.dtype !== 'float32' || r === 0 || (dim !== -1 && dim !== r - 1)) return null;
    const cols = x.shape[r - 1]!;
    const out = h.makeOutput(x.shape, 'float32');
    lib.softmax(x.shape.reduce((p, q) => p * q, 1) / Math.max(cols, 1), cols, h.typedArrayFromHeap(x), h.typedArrayFromHeap(out));
    return out;
  });
}
