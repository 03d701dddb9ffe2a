/**
 * Seeded sampling kernels: fill an array from a Tyche-i state (advanced in place), uniform
 * or standard normal. The reference is the JS loop — the Tyche-i recurrence inlined (going
 * through seedrandom's per-call closure costs ~4x) and the Marsaglia–Tsang ziggurat, where
 * ~99 % of draws need one 32-bit integer and one multiply. The native engine runs the same
 * recurrence and tables, so both give the same bits; below 256 draws (or for Float64
 * output) the N-API call costs more than it saves and the reference runs.
 */
import * as tf from '@tensorflow/tfjs';
import { heapBackend, heapTensor, type NativeAddon } from './engine.js';
import { defineKernel } from './kernel.js';
import { FN, KN, WN, ZIG_R } from './ziggurat.js';

/** 2^-32: maps an unsigned 32-bit integer to [0, 1). */
const INV_2_32 = 1 / 4294967296;

/** Below this many draws the N-API call costs more than the JS loop. */
const NATIVE_MIN = 256;

type Out = Float32Array | Float64Array;

/** U[0,1) draws (32-bit resolution) into `arr`, advancing the state `s`. */
function uniformJS(s: Int32Array, arr: Out): void {
    let a = s[0]!, b = s[1]!, c = s[2]!, d = s[3]!;
  const n = arr.length;
  for (let k = 0; k < n; k++) {
    b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
    b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
    // Float32 rounding could map values just below 1 to exactly 1; keep the interval half-open.
    const u = (a >>> 0) * INV_2_32;
    arr[k] = u;
  }
  if (arr instanceof Float32Array) {
    for (let k = 0; k < n; k++) if (arr[k] === 1) arr[k] = 0.99999994;
  }
  s[0] = a; s[1] = b; s[2] = c; s[3] = d;
}

/** N(0,1) draws into `arr` (ziggurat), advancing the state `s`. */
function normalJS(s: Int32Array, arr: Out): void {
    let a = s[0]!, b = s[1]!, c = s[2]!, d = s[3]!;
  const n = arr.length;
  for (let k = 0; k < n; k++) {
    b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
    b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
    let hz = a;
    let iz = hz & 127;
    if ((hz < 0 ? -hz : hz) < KN[iz]!) {
      arr[k] = hz * WN[iz]!;
      continue;
    }
    // Slow path (~1%): wedge or tail of the ziggurat; same integer stream, so still seeded.
    let x = 0;
    for (;;) {
      x = hz * WN[iz]!;
      if (iz === 0) {
        let y: number;
        do {
          b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
          b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
          const u1 = ((a >>> 0) + 0.5) * INV_2_32;
          b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
          b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
          const u2 = ((a >>> 0) + 0.5) * INV_2_32;
          x = -Math.log(u1) / ZIG_R;
          y = -Math.log(u2);
        } while (y + y < x * x);
        x = hz > 0 ? ZIG_R + x : -ZIG_R - x;
        break;
      }
      b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
      b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
      const u = ((a >>> 0) + 0.5) * INV_2_32;
      if (FN[iz]! + u * (FN[iz - 1]! - FN[iz]!) < Math.exp(-0.5 * x * x)) break;
      b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
      b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
      hz = a;
      iz = hz & 127;
      if ((hz < 0 ? -hz : hz) < KN[iz]!) {
        x = hz * WN[iz]!;
        break;
      }
    }
    arr[k] = x;
  }
  s[0] = a; s[1] = b; s[2] = c; s[3] = d;
}

type Fill = (state: Int32Array, out: Out) => void;

/** A sampling kernel: the native sampler for Float32 arrays worth an N-API call, else the JS loop. */
function samplingKernel(name: string, js: Fill, native: (lib: NativeAddon) => (state: Int32Array, out: Float32Array) => void) {
  return defineKernel({
    name,
    needs: 'addon',
    reference: js,
    native: (e, state: Int32Array, out: Out) =>
      out instanceof Float32Array && out.length >= NATIVE_MIN ? native(e.lib)(state, out) : js(state, out),
  });
}

/** Fill `out` with U[0,1) draws from the Tyche-i state `state` (advanced in place). */
export const fillUniform = samplingKernel('fillUniform', uniformJS, (lib) => lib.fillUniform);

/** Fill `out` with N(0,1) draws from the Tyche-i state `state` (advanced in place). */
export const fillNormal = samplingKernel('fillNormal', normalJS, (lib) => lib.fillNormal);

/**
 * Draws of a shape as a tensor. On wasm they are written straight into a freshly allocated
 * heap tensor (no upload copy: for 4 M samples the copy cost a third of the sampling);
 * elsewhere through a Float32Array and tf.tensor.
 */
function drawTensor(shape: number[], fill: (out: Float32Array) => void): tf.Tensor {
  const h = heapBackend();
  if (h) {
    const t = heapTensor(h, shape);
    fill(h.typedArrayFromHeap(t));
    return t;
  }
  const arr = new Float32Array(shape.reduce((a, b) => a * b, 1));
  fill(arr);
  return tf.tensor(arr, shape, 'float32');
}

/** N(0,1) draws of a shape from a stream, as a float32 tensor. */
export function normalTensor(rng: { normal(out: Float32Array): Float32Array }, shape: number[]): tf.Tensor {
  return drawTensor(shape, (out) => rng.normal(out));
}

/** U[0,1) draws of a shape from a stream, as a float32 tensor. */
export function uniformTensor(rng: { uniform(out: Float32Array): Float32Array }, shape: number[]): tf.Tensor {
  return drawTensor(shape, (out) => rng.uniform(out));
}
