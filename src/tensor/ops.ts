/** Small ops whose stock tfjs gradients are slow on wasm, rebuilt from fast kernels. */
import * as tf from '@tensorflow/tfjs';
import { matMulT } from './matmul-grad.js';
import { nativeAddon } from './native.js';
import { heapBackend, heapTensor } from './heap.js';

/**
 * x[M, N] + b[N]. The stock gradient of a broadcast Add reduces dy over rows with Sum,
 * which wasm runs as transpose + reduce (~0.5 ms for [1024, 384]); here db = 1ᵀ·dy is a
 * matmul, which the native kernels (or wasm's GEMM) do in a few microseconds.
 */
export const addBias = tf.customGrad(((x: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  const rows = x.shape[0]!;
  save([tf.ones([1, rows])]);
  return {
    value: tf.add(x, b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      return [g, tf.reshape(matMulT(saved[0]!, g), b.shape)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, b: tf.Tensor1D | tf.Variable) => tf.Tensor2D;

/**
 * LayerNorm over the last axis of x[M, N]: (x − mean)/sqrt(var + eps)·γ + β, with the
 * backward pass written out. Composed from tfjs ops it was ~12 kernels forward and ~25
 * backward per call; on wasm both directions here are single loops over heap views.
 */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D | tf.Variable, beta: tf.Tensor1D | tf.Variable, eps = 1e-5): tf.Tensor2D {
  const h = heapBackend();
  if (!h) return layerNormOps(x, gamma, beta, eps);
  const f = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const [M, N] = xi.shape as [number, number];
    const y = heapTensor(h, [M, N]);
    const xhat = heapTensor(h, [M, N]);
    const rstd = heapTensor(h, [M]);
    const lib = nativeAddon();
    const views = [xi, g, b, y, xhat, rstd].map((t) => h.typedArrayFromHeap(t)) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    if (lib) lib.layerNorm(0, M, N, eps, ...views, views[5]);
    else layerNormForward(...views.slice(0, 3) as [Float32Array, Float32Array, Float32Array], M, N, eps, ...views.slice(3) as [Float32Array, Float32Array, Float32Array]);
    save([xhat, rstd, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xh, rs, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dx = heapTensor(h, [M, N]);
        const dg = heapTensor(h, [N]);
        const db = heapTensor(h, [N]);
        const v = [dy as tf.Tensor, xh, rs, gm, dx, dg, db].map((t) => h.typedArrayFromHeap(t)) as Float32Array[];
        const lib = nativeAddon();
        if (lib) lib.layerNorm(1, M, N, 0, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!, v[6]!);
        else layerNormBackward(v[0]!, v[1]!, v[2]!, v[3]!, M, N, v[4]!, v[5]!, v[6]!);
        return [dx, dg, db];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, gamma, beta) as tf.Tensor2D;
}

/** The same LayerNorm as tfjs ops (other backends; tests compare the two). */
export function layerNormOps(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor2D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, 1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta) as tf.Tensor2D;
  });
}

function layerNormForward(
  x: Float32Array, g: Float32Array, b: Float32Array, M: number, N: number, eps: number,
  y: Float32Array, xhat: Float32Array, rstd: Float32Array,
): void {
  for (let i = 0; i < M; i++) {
    const o = i * N;
    let s = 0;
    for (let j = 0; j < N; j++) s += x[o + j]!;
    const mean = s / N;
    let v = 0;
    for (let j = 0; j < N; j++) {
      const d = x[o + j]! - mean;
      v += d * d;
    }
    const r = 1 / Math.sqrt(v / N + eps);
    rstd[i] = r;
    for (let j = 0; j < N; j++) {
      const xh = (x[o + j]! - mean) * r;
      xhat[o + j] = xh;
      y[o + j] = xh * g[j]! + b[j]!;
    }
  }
}

function layerNormBackward(
  dy: Float32Array, xhat: Float32Array, rstd: Float32Array, g: Float32Array, M: number, N: number,
  dx: Float32Array, dg: Float32Array, db: Float32Array,
): void {
  dg.fill(0);
  db.fill(0);
  for (let i = 0; i < M; i++) {
    const o = i * N;
    // dxhat = dy·γ; dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat))
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < N; j++) {
      const d = dy[o + j]! * g[j]!;
      s1 += d;
      s2 += d * xhat[o + j]!;
      dg[j] = dg[j]! + dy[o + j]! * xhat[o + j]!;
      db[j] = db[j]! + dy[o + j]!;
    }
    const m1 = s1 / N;
    const m2 = s2 / N;
    const r = rstd[i]!;
    for (let j = 0; j < N; j++) dx[o + j] = r * (dy[o + j]! * g[j]! - m1 - xhat[o + j]! * m2);
  }
}

/**
 * Embedding lookup table[ids] → [N, D] whose gradient scatters rows back with a loop: tfjs's
 * Gather gradient needs UnsortedSegmentSum, which the wasm backend does not implement.
 */
export function embeddingLookup(table: tf.Tensor2D | tf.Variable, ids: Int32Array): tf.Tensor2D {
  const [V, D] = table.shape as [number, number];
  const f = tf.customGrad(((t: tf.Tensor) => {
    const idx = tf.tensor1d(ids, 'int32');
    const value = tf.gather(t, idx);
    idx.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const g = (dy as tf.Tensor).dataSync();
        const out = new Float32Array(V * D);
        for (let n = 0; n < ids.length; n++) {
          const o = ids[n]! * D;
          const r = n * D;
          for (let j = 0; j < D; j++) out[o + j] = out[o + j]! + g[r + j]!;
        }
        return [tf.tensor2d(out, [V, D])];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(table) as tf.Tensor2D;
}

/**
 * Mean softmax cross-entropy of logits[N, V] against integer targets (nats per counted row;
 * rows with a negative target are ignored). tfjs's one-hot loss runs ~10 kernels over N·V
 * elements forward and as many backward — for a decoder's LM head ([B·T, vocab], 33 M
 * elements) that was most of a training step; here one pass writes the loss and the gradient.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  const [N, V] = logits.shape;
  if (targets.length !== N) throw new Error(`softmaxCrossEntropy: ${targets.length} targets for ${N} rows`);
  let count = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i]!;
    if (t >= V) throw new Error(`softmaxCrossEntropy: target ${t} out of range [0, ${V})`);
    if (t >= 0) count++;
  }
  const h = heapBackend();
  if (!h) return softmaxCrossEntropyOps(logits, targets);
  const scale = 1 / Math.max(count, 1);
  const f = tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
    const grad = heapTensor(h, [N, V]);
    const rows = heapTensor(h, [N]);
    const zv = h.typedArrayFromHeap(z);
    const gv = h.typedArrayFromHeap(grad);
    const lv = h.typedArrayFromHeap(rows);
    const lib = nativeAddon();
    if (lib) lib.softmaxXent(N, V, zv, targets, scale, lv, gv);
    else softmaxXentLoop(N, V, zv, targets, scale, lv, gv);
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

/** The same loss as tfjs ops (other backends; tests compare the two). */
export function softmaxCrossEntropyOps(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  return tf.tidy(() => {
    const V = logits.shape[1];
    const keep = Int32Array.from(targets, (t) => (t >= 0 ? 1 : 0));
    const oh = tf.mul(tf.oneHot(tf.tensor1d(Int32Array.from(targets, (t) => Math.max(t, 0)), 'int32'), V), tf.tensor2d(keep, [targets.length, 1]).toFloat());
    const n = Math.max(keep.reduce((a, b) => a + b, 0), 1);
    return tf.div(tf.neg(tf.sum(tf.mul(oh, tf.logSoftmax(logits)))), n) as tf.Scalar;
  });
}

function softmaxXentLoop(N: number, V: number, z: Float32Array, t: Int32Array, scale: number, loss: Float32Array, g: Float32Array): void {
  for (let i = 0; i < N; i++) {
    const o = i * V;
    if (t[i]! < 0) {
      g.fill(0, o, o + V);
      loss[i] = 0;
      continue;
    }
    let m = z[o]!;
    for (let j = 1; j < V; j++) if (z[o + j]! > m) m = z[o + j]!;
    let s = 0;
    for (let j = 0; j < V; j++) {
      const e = Math.fround(Math.exp(z[o + j]! - m));
      g[o + j] = e;
      s += e;
    }
    const inv = Math.fround(Math.fround(1 / s) * scale);
    for (let j = 0; j < V; j++) g[o + j] = g[o + j]! * inv;
    g[o + t[i]!] = g[o + t[i]!]! - scale;
    loss[i] = Math.log(s) + m - z[o + t[i]!]!;
  }
}

/**
 * GELU — exact x·Φ(x) (RoBERTa's "gelu") or GPT-2's tanh approximation ("gelu_new") — with
 * its gradient written out: as tfjs ops it is five elementwise kernels forward and about ten
 * backward over every FFN activation.
 */
export function gelu(x: tf.Tensor, approx: 'erf' | 'tanh' = 'erf'): tf.Tensor {
  const h = heapBackend();
  const lib = nativeAddon();
  if (!h || !lib) return geluOps(x, approx);
  const mode = approx === 'erf' ? 0 : 2;
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = heapTensor(h, xi.shape);
    const xv = h.typedArrayFromHeap(xi);
    lib.gelu(mode, xv, xv, h.typedArrayFromHeap(y));
    save([xi]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dx = heapTensor(h, xi.shape);
        lib.gelu(mode === 0 ? 1 : 3, h.typedArrayFromHeap(saved[0]!), h.typedArrayFromHeap(dy as tf.Tensor), h.typedArrayFromHeap(dx));
        return [dx];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor;
}

/** GELU as tfjs ops (other backends, and the reference the tests compare with). */
export function geluOps(x: tf.Tensor, approx: 'erf' | 'tanh' = 'erf'): tf.Tensor {
  return tf.tidy(() => {
    if (approx === 'erf') return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

/**
 * Σ of every element of the tensors — finite iff every element is, so it doubles as a
 * finiteness check: one Sum kernel per tensor and one read-back (wasm: ~0.85 ms per million
 * values, faster than a JS loop over heap views, ~2 ms).
 */
export function sumAll(ts: tf.Tensor[]): number {
  if (!ts.length) return 0;
  return tf.tidy(() => tf.addN(ts.map((t) => tf.sum(t))).dataSync()[0]!);
}
