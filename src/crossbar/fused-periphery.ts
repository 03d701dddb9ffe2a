/**
 * The tile periphery fused into single JS passes over views of the wasm heap.
 *
 * As separate tfjs ops the DAC and ADC steps cost ~10 kernel launches and temporaries per
 * row tile; here each is one loop over the data where it already lives (no copies, no
 * readbacks), and only the matmul goes to the backend. Semantics are exactly those of
 * AnalogMatrix.forwardOps, including which random stream each noise draw comes from.
 * The loops are top-level functions with plain numeric parameters so V8 optimizes them
 * once (closures re-created per call kept them in the interpreter).
 */
import * as tf from '@tensorflow/tfjs';
import type { AnalogMatrix } from './analog-matrix.js';
import { RandomStream } from '../tensor/random.js';
import { converterStep } from './periphery.js';
import { nativeAddon, type NativeAddon } from '../tensor/native.js';
import { heapTensor, type HeapBackend } from '../tensor/heap.js';

/** True when the active backend exposes its heap (wasm) and the fused path is not disabled. */
export function fusedPeripheryAvailable(): boolean {
  return tf.getBackend() === 'wasm' && process.env.AIMC_FUSED !== '0';
}

/**
 * Round half to even, as tf.round does. Math.floor(v + 0.5) is exact for float32 inputs and
 * ~6x faster than Math.round in V8; `& 1` is valid because converter levels are < 2^31.
 */
function rint(v: number): number {
  const r = Math.floor(v + 0.5);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** Weight scales per row tile as host arrays, cached per matrix (they never change). */
const scaleCache = new WeakMap<AnalogMatrix, Float32Array[]>();
function hostScales(m: AnalogMatrix): Float32Array[] {
  let s = scaleCache.get(m);
  if (!s) {
    s = m.tiled.scales.map((t) => t.dataSync() as Float32Array);
    scaleCache.set(m, s);
  }
  return s;
}

/** Scratch buffers reused across forward calls of one matrix (GC was ~15% of a call). */
interface Workspace {
  B: number;
  tileOut: Float32Array;
  noise: Float32Array;
  next: Float32Array;
  alpha: Float64Array;
  sat: Uint8Array;
  nextSat: Uint8Array;
  colTileOf: Int32Array;
}
const workspaces = new WeakMap<AnalogMatrix, Workspace>();
function workspace(m: AnalogMatrix, B: number, n: number, nColTiles: number): Workspace {
  let w = workspaces.get(m);
  if (!w || w.B !== B) {
    const outF = m.tiled.grid.outFeatures;
    const colTileOf = new Int32Array(outF);
    m.tiled.grid.colSpans.forEach((c, j) => colTileOf.fill(j, c.start, c.start + c.size));
    w = {
      B,
      tileOut: new Float32Array(n),
      noise: new Float32Array(n),
      next: new Float32Array(n),
      alpha: new Float64Array(B),
      sat: new Uint8Array(B * nColTiles),
      nextSat: new Uint8Array(B * nColTiles),
      colTileOf,
    };
    workspaces.set(m, w);
  }
  return w;
}

/** α[b] = max |x[b, start:start+size]| (or 1 without noise management). */
function rowAbsMax(xv: Float32Array, B: number, inF: number, start: number, size: number, absMax: boolean, alpha: Float64Array): void {
  for (let b = 0; b < B; b++) {
    if (!absMax) {
      alpha[b] = 1;
      continue;
    }
    let a = 0;
    const o = b * inF + start;
    for (let k = 0; k < size; k++) {
      const v = Math.abs(xv[o + k]!);
      if (v > a) a = v;
    }
    alpha[b] = a > 1e-12 ? a : 1e-12;
  }
}

/** DAC: q[b, c] = quantize(clip(x[b, start+c]/α[b]·scale, ±bound)). */
function dac(
  xv: Float32Array, qv: Float32Array, B: number, inF: number, start: number, size: number,
  alpha: Float64Array, scale: number, bound: number, step: number,
): void {
  for (let b = 0; b < B; b++) {
    const o = b * inF + start;
    const q = b * size;
    const a = alpha[b]!;
    for (let c = 0; c < size; c++) {
      let v = Math.fround(xv[o + c]! / a) * scale;
      v = v > bound ? bound : v < -bound ? -bound : v;
      qv[q + c] = step > 0 ? rint(v / step) * step : v;
    }
  }
}

/** Output noise, saturation flags per (row, column tile), ADC, undo the input halving. */
function adc(
  yv: Float32Array, noise: Float32Array | null, sigma: number, out: Float32Array, sat: Uint8Array,
  n: number, outF: number, nColTiles: number, colTileOf: Int32Array, bound: number, step: number, scale: number,
): void {
  sat.fill(0);
  for (let idx = 0; idx < n; idx++) {
    let v = noise !== null ? Math.fround(yv[idx]! + Math.fround(noise[idx]! * sigma)) : yv[idx]!;
    if (v >= bound || v <= -bound) {
      const b = (idx / outF) | 0;
      sat[b * nColTiles + colTileOf[idx - b * outF]!] = 1;
      v = v > 0 ? bound : -bound;
    }
    out[idx] = (step > 0 ? rint(v / step) * step : v) / scale;
  }
}

/** acc[b, j] += tile[b, j]·α[b]·s[j]. */
function accumulate(acc: Float32Array, tile: Float32Array, alpha: Float64Array, s: Float32Array, B: number, outF: number): void {
  for (let b = 0; b < B; b++) {
    const a = alpha[b]!;
    const o = b * outF;
    for (let j = 0; j < outF; j++) acc[o + j] = acc[o + j]! + Math.fround(Math.fround(tile[o + j]! * a) * s[j]!);
  }
}

/**
 * The same computation in the native addon (native/analog.cc): identical rounding points and
 * noise streams, so it returns the same bits as the JS loops below, with the matmul and the
 * periphery in one call.
 */
function nativeForward(lib: NativeAddon, m: AnalogMatrix, x: tf.Tensor2D, rng: RandomStream): tf.Tensor2D {
  const backend = tf.backend() as unknown as HeapBackend;
  const { grid, device } = m.tiled;
  const per = device.periphery;
  const [B, inF] = x.shape;
  const outF = grid.outFeatures;
  const tiles = grid.rowSpans.length;
  const K = per.boundManagement === 'iterative' ? per.boundManagementIterations : 0;
  const ws = workspace(m, B, B * outF, grid.colSpans.length);
  const states = new Int32Array(tiles * (K + 1) * 4);
  if (per.outputNoise > 0) {
    for (let i = 0; i < tiles; i++) {
      for (let k = 0; k <= K; k++) {
        const st = rng.child(`rowtile-${i}`, `bm-${k}`).state();
        states.set([st.a, st.b, st.c, st.d], (i * (K + 1) + k) * 4);
      }
    }
  }
  const rowStarts = Int32Array.from([...grid.rowSpans.map((r) => r.start), inF]);
  const params = Float64Array.of(
    converterStep(per.dac), per.dac.bound, converterStep(per.adc), per.adc.bound, per.outputNoise,
    per.noiseManagement === 'abs-max' ? 1 : 0, per.boundManagement === 'iterative' ? 1 : 0, K, m.gdc,
  );
  const out = heapTensor(backend, [B, outF]) as tf.Tensor2D;
  // Views after the allocation (it may grow the heap).
  lib.analogForward(
    backend.typedArrayFromHeap(x), B, inF, outF, rowStarts, m.weights.map((w) => backend.typedArrayFromHeap(w)), hostScales(m),
    ws.colTileOf, grid.colSpans.length, params, states, backend.typedArrayFromHeap(out),
  );
  return out;
}

/** AnalogMatrix.forward on the wasm heap: native when the addon is loaded, else JS loops. */
export function fusedForward(m: AnalogMatrix, x: tf.Tensor2D, rng: RandomStream): tf.Tensor2D {
  const lib = nativeAddon();
  if (lib && process.env.AIMC_NATIVE_PERIPHERY !== '0') return nativeForward(lib, m, x, rng);
  return jsForward(m, x, rng);
}

/** The fused periphery as JS loops over heap views. */
export function jsForward(m: AnalogMatrix, x: tf.Tensor2D, rng: RandomStream): tf.Tensor2D {
  const backend = tf.backend() as unknown as HeapBackend;
  const { grid, device } = m.tiled;
  const per = device.periphery;
  const [B, inF] = x.shape;
  const outF = grid.outFeatures;
  const n = B * outF;
  const dStep = converterStep(per.dac);
  const aStep = converterStep(per.adc);
  const nColTiles = grid.colSpans.length;
  const scales = hostScales(m);
  const ws = workspace(m, B, n, nColTiles);
  const { tileOut, alpha, sat } = ws;
  const noise = per.outputNoise > 0 ? ws.noise : null;
  const acc = new Float32Array(n);

  /** One pass of row tile i at input scale `scale`, drawing noise from `stream`. */
  const pass = (i: number, scale: number, stream: RandomStream, out: Float32Array, flags: Uint8Array): void => {
    const r = grid.rowSpans[i]!;
    const xq = heapTensor(backend, [B, r.size]) as tf.Tensor2D;
    // Views are taken after allocating: allocation may grow (and detach) the wasm heap.
    dac(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(xq), B, inF, r.start, r.size, alpha, scale, per.dac.bound, dStep);
    const y = tf.matMul(xq, m.weights[i]!);
    xq.dispose();
    if (noise) stream.normal(noise);
    adc(backend.typedArrayFromHeap(y), noise, per.outputNoise, out, flags, n, outF, nColTiles, colTileOf, per.adc.bound, aStep, scale);
    y.dispose();
  };

  const colTileOf = ws.colTileOf;
  grid.rowSpans.forEach((r, i) => {
    const tileRng = rng.child(`rowtile-${i}`);
    rowAbsMax(backend.typedArrayFromHeap(x), B, inF, r.start, r.size, per.noiseManagement === 'abs-max', alpha);
    pass(i, 1, tileRng.child('bm-0'), tileOut, sat);
    if (per.boundManagement === 'iterative' && sat.some((v) => v > 0)) {
      const { next, nextSat } = ws;
      for (let k = 1; k <= per.boundManagementIterations && sat.some((v) => v > 0); k++) {
        pass(i, 2 ** -k, tileRng.child(`bm-${k}`), next, nextSat);
        for (let idx = 0; idx < n; idx++) {
          const b = (idx / outF) | 0;
          if (sat[b * nColTiles + colTileOf[idx - b * outF]!]) tileOut[idx] = next[idx]!;
        }
        for (let f = 0; f < sat.length; f++) sat[f] = sat[f]! & nextSat[f]!;
      }
    }
    accumulate(acc, tileOut, alpha, scales[i]!, B, outF);
  });
  if (m.gdc !== 1) for (let k = 0; k < n; k++) acc[k] = acc[k]! * m.gdc;
  return tf.tensor2d(acc, [B, outF]);
}
