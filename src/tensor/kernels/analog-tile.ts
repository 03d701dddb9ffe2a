/**
 * The analog tile MVM with its periphery — the one definition of what a crossbar read
 * computes, for x[B, in] against a matrix split into row tiles (and column tiles):
 *
 *   per row tile i: α = max|x_i| per input row (abs-max noise management, else 1);
 *   DAC: q = quantize(clip(x_i/α·s, ±dacBound), dacStep); input noise q += σ_in·ε;
 *   y = q·W_i (normalized weights); output noise y += σ·ε; output non-linearity
 *   y = y / (1 + n_ij·|y|) (n drawn per tile column at programming); ADC:
 *   quantize(clip(y, ±adcBound), adcStep)/s (a calibrated range r: the ADC converts g·y, g =
 *   adcBound/r, and the result is divided by g); iterative bound
 *   management: while an output of a column tile reaches the ADC bound, halve that input
 *   row's s (s = 2^-k, k ≤ iterations) and redo the pass for it; then acc += y·α·scale_i.
 *   Finally y = acc·gdc (global drift compensation factor, 1 when off).
 *
 * Noise of pass k of row tile i comes from streams rng/rowtile-i/bm-k (output) and
 * rng/rowtile-i/inp-k (input). The reference is tfjs
 * ops; the native engine does matmul and periphery in one call (native/analog.cc) with the
 * same noise streams. Adding a non-ideality to the periphery means editing this reference
 * and each engine's kernel (docs/architecture.md lists the files).
 */
import * as tf from '@tensorflow/tfjs';
import type { RandomStream } from '../random.js';
import { heapTensor, type NativeEngine } from './engine.js';
import { defineKernel } from './kernel.js';
import { normalTensor } from './sampling.js';

export interface Span {
  start: number;
  size: number;
}

/** How the matrix lies on tiles; built once per mapped matrix. */
export interface TileLayout {
  inFeatures: number;
  outFeatures: number;
  rowSpans: readonly Span[];
  colSpans: readonly Span[];
  /** Column tile of each output column, [outFeatures]. */
  colTileOf: Int32Array;
}

/** The periphery in the kernel's terms (steps 0 = no quantization). */
export interface TilePeriphery {
  dacStep: number;
  dacBound: number;
  adcStep: number;
  adcBound: number;
  /** Output noise std, units of a full-scale unit-weight output. */
  outputNoise: number;
  /** Input noise std after the DAC, units of the normalized input (aihwkit inp_noise). */
  inputNoise: number;
  /** ADC: ideal uniform quantizer, ramp (per-column gain and offset) or SAR (capacitor-weighted successive approximation). */
  adcModel: 'ideal' | 'ramp' | 'sar';
  /** ADC resolution in bits (0 when unquantized). */
  adcBits: number;
  /** DAC resolution in bits (0 when unquantized). */
  dacBits: number;
  /** Input bit slicing: bits of the DAC level applied per pass (0 = the whole input in one pass). */
  inputBitsPerPass: number;
  absMax: boolean;
  iterative: boolean;
  iterations: number;
}

export interface TileRead {
  x: tf.Tensor2D;
  layout: TileLayout;
  periphery: TilePeriphery;
  /** Normalized weights per row tile at the read time, [rows_i, out]. */
  weights: readonly tf.Tensor2D[];
  /** Weight scale per row tile, [1, out]. */
  scales: readonly tf.Tensor2D[];
  /** The same scales as host arrays (engines that need them; cached by the caller). */
  hostScales: () => Float32Array[];
  /** Global drift-compensation factor (1 when off). */
  gdc: number;
  /** Output non-linearity n per row tile and column, [out] each (y → y/(1 + n|y|)); null = linear. */
  nonlinearity?: readonly Float32Array[] | null;
  /** This chip's ADC mismatch per row tile (ramp and SAR models); null for the ideal ADC. */
  adc?: readonly AdcColumns[] | null;
  /**
   * Calibrated ADC ranges per row tile, [out] each, as the gain g = adcBound / range: the ADC
   * converts g·y and its output is divided by g (a converter of range adcBound/g with the same
   * levels); null = every ADC at its full bound.
   */
  adcRangeGain?: readonly Float32Array[] | null;
}

/** One row tile's ADCs (one per output column), drawn per chip. */
export interface AdcColumns {
  /** Relative gain error per column, [out] (ramp: the ramp's slope error; 0 for SAR). */
  gain: Float32Array;
  /** Offset per column in LSB, [out] (comparator offset). */
  offset: Float32Array;
  /** SAR: the actual weight of cycle k of column j at j·(bits + 1) + k, in LSB (ideal 2^k); empty for ramp. */
  weights: Float32Array;
}

/**
 * The ADC of one row tile: y[B, out] (analog, units of a full-scale unit-weight output) to its
 * digital value. ideal: clip to ±bound, round to the step. ramp: (1 + gain)·y + offset·step,
 * then the ideal quantizer. SAR: y + offset·step clipped to ±bound, shifted to [0, 2·bound]
 * (u in steps: 0 … 2^(b+1) − 4, the 2^(b+1) − 3 levels of aimc's b-bit convention), then
 * b + 1 successive-approximation cycles against the column's actual bit weights (bit k kept
 * when u + ½ ≥ the trial level), the code read with ideal weights.
 */
export function convertAdc(y: tf.Tensor2D, p: TilePeriphery, cols: AdcColumns | null): tf.Tensor2D {
  if (p.adcModel === 'ideal' || !cols) return clipQuantize(y, p.adcBound, p.adcStep) as tf.Tensor2D;
  return tf.tidy(() => {
    const out = cols.gain.length;
    const row = (a: Float32Array) => tf.tensor2d(a, [1, out]);
    const offset = tf.mul(row(cols.offset), p.adcStep);
    if (p.adcModel === 'ramp')
      return clipQuantize(tf.add(tf.mul(y, tf.add(1, row(cols.gain))), offset), p.adcBound, p.adcStep) as tf.Tensor2D;
    const b = p.adcBits + 1;
    const u = tf.div(tf.add(tf.clipByValue(tf.add(y, offset), -p.adcBound, p.adcBound), p.adcBound), p.adcStep);
    const weights = tf.tensor2d(cols.weights, [out, b]);
    let acc: tf.Tensor = tf.zerosLike(u);
    let code: tf.Tensor = tf.zerosLike(u);
    for (let k = b - 1; k >= 0; k--) {
      const trial = tf.add(acc, tf.reshape(tf.slice(weights, [0, k], [out, 1]), [1, out]));
      const take = tf.greaterEqual(tf.add(u, 0.5), trial);
      acc = tf.where(take, trial, acc);
      code = tf.add(code, tf.mul(tf.cast(take, 'float32'), 2 ** k));
    }
    return tf.sub(tf.mul(tf.minimum(code, 2 ** b - 4), p.adcStep), p.adcBound) as tf.Tensor2D;
  });
}

/** Clip to ±bound, then round to multiples of step (step 0: no rounding): a converter. */
export function clipQuantize(x: tf.Tensor, bound: number, step: number): tf.Tensor {
  return tf.tidy(() => {
    const c = tf.clipByValue(x, -bound, bound);
    return step > 0 ? tf.mul(tf.round(tf.div(c, step)), step) : c.clone();
  });
}

/** 1 where any output of a column tile reaches the ADC bound, per row: [B, colTiles]. */
function saturated(y: tf.Tensor2D, colSpans: readonly Span[], bound: number): tf.Tensor2D {
  return tf.tidy(() => {
    const a = tf.abs(y);
    const per = colSpans.map((c) =>
      colSpans.length === 1 ? tf.max(a, 1, true) : tf.max(tf.slice(a, [0, c.start], [y.shape[0], c.size]), 1, true),
    );
    return tf.cast(tf.greaterEqual(per.length === 1 ? per[0]! : tf.concat(per, 1), bound), 'float32') as tf.Tensor2D;
  });
}

/** [B, colTiles] → [B, out] by repeating each column tile's flag over its columns. */
function expandCols(flags: tf.Tensor2D, colSpans: readonly Span[]): tf.Tensor2D {
  return tf.tidy(() => {
    const parts = colSpans.map((c, j) => tf.tile(tf.slice(flags, [0, j], [flags.shape[0], 1]), [1, c.size]));
    return (parts.length === 1 ? parts[0]! : tf.concat(parts, 1)) as tf.Tensor2D;
  });
}

/** Stream tag of bound-management iteration k, input pass pi: pass 0 keeps an unsliced read's streams. */
function passTag(k: number, pi: number): string {
  return pi === 0 ? `${k}` : `${k}-p${pi}`;
}

/** Passes of input bit slicing: ⌈dacBits / bitsPerPass⌉, 1 without it. */
export function inputPasses(p: TilePeriphery): number {
  return p.inputBitsPerPass > 0 ? Math.ceil(p.dacBits / p.inputBitsPerPass) : 1;
}

/**
 * The inputs of each pass for DAC levels xq (multiples of dacStep): pass p carries digit
 * c_p = ⌊m / 2^(K·p)⌋ mod 2^K of each level's magnitude m as the pulse sign·c_p/(2^K − 1), and
 * its digital weight (2^K − 1)·2^(K·p)·dacStep undoes that in the shift-and-add.
 */
function slicedInputs(xq: tf.Tensor2D, p: TilePeriphery): { u: tf.Tensor2D; weight: number }[] {
  const P = inputPasses(p);
  if (P === 1) return [{ u: xq, weight: 1 }];
  const K = p.inputBitsPerPass;
  const digits = 2 ** K - 1;
  const m = tf.round(tf.div(tf.abs(xq), p.dacStep));
  const sign = tf.sign(xq);
  return Array.from({ length: P }, (_, pi) => {
    const c = tf.mod(tf.floor(tf.div(m, 2 ** (K * pi))), 2 ** K);
    return { u: tf.div(tf.mul(sign, c), digits) as tf.Tensor2D, weight: digits * 2 ** (K * pi) * p.dacStep };
  });
}

/** α per input row of a row tile, [B, 1]: max |x| (abs-max noise management, floored at 1e-12), else 1. */
function inputScale(xi: tf.Tensor2D, absMax: boolean): tf.Tensor2D {
  return (absMax ? tf.maximum(tf.max(tf.abs(xi), 1, true), 1e-12) : tf.ones([xi.shape[0], 1])) as tf.Tensor2D;
}

/** The output non-linearity y / (1 + n·|y|), n per column (null: linear). */
function bend(y: tf.Tensor2D, nl: Float32Array | null | undefined): tf.Tensor2D {
  return nl ? (tf.div(y, tf.add(1, tf.mul(tf.abs(y), tf.tensor2d(nl, [1, nl.length])))) as tf.Tensor2D) : y;
}

/**
 * Row tile i's analog outputs before its ADC, without noise — what an ADC range calibration
 * sees: abs-max scaling, the DAC, the MVM and the output non-linearity of the read above, in
 * normalized units, [B, out].
 */
export function preAdcOutputs(r: Pick<TileRead, 'x' | 'layout' | 'periphery' | 'weights' | 'nonlinearity'>, i: number): tf.Tensor2D {
  return tf.tidy(() => {
    const span = r.layout.rowSpans[i]!;
    const B = r.x.shape[0];
    const xi = r.layout.rowSpans.length === 1 ? r.x : (tf.slice(r.x, [0, span.start], [B, span.size]) as tf.Tensor2D);
    const xq = clipQuantize(tf.div(xi, inputScale(xi, r.periphery.absMax)), r.periphery.dacBound, r.periphery.dacStep) as tf.Tensor2D;
    return bend(tf.matMul(xq, r.weights[i]!) as tf.Tensor2D, r.nonlinearity?.[i]);
  });
}

/** One row tile in normalized units: DAC, matmul, output noise, ADC, iterative bound management. */
function tileMVM(r: TileRead, xn: tf.Tensor2D, i: number, rng: RandomStream): tf.Tensor2D {
  const p = r.periphery;
  const W = r.weights[i]!;
  const nl = r.nonlinearity?.[i];
  const adc = r.adc?.[i] ?? null;
  const rg = r.adcRangeGain?.[i];
  const once = (scale: number, k: number): { y: tf.Tensor2D; sat: tf.Tensor2D } =>
    tf.tidy(() => {
      const xin = scale === 1 ? xn : tf.mul(xn, scale);
      const xq = clipQuantize(xin, p.dacBound, p.dacStep) as tf.Tensor2D;
      let acc: tf.Tensor2D | null = null;
      let sat: tf.Tensor2D | null = null;
      slicedInputs(xq, p).forEach(({ u, weight }, pi) => {
        const tag = passTag(k, pi);
        let v = u;
        if (p.inputNoise > 0) v = tf.add(v, tf.mul(normalTensor(rng.child(`inp-${tag}`), v.shape), p.inputNoise)) as tf.Tensor2D;
        let y = tf.matMul(v, W) as tf.Tensor2D;
        if (p.outputNoise > 0) y = tf.add(y, tf.mul(normalTensor(rng.child(`bm-${tag}`), y.shape), p.outputNoise)) as tf.Tensor2D;
        y = bend(y, nl);
        const gain = rg ? tf.tensor2d(rg, [1, rg.length]) : null;
        if (gain) y = tf.mul(y, gain) as tf.Tensor2D;
        const s = saturated(y, r.layout.colSpans, p.adcBound);
        sat = sat ? (tf.maximum(sat, s) as tf.Tensor2D) : s;
        const digital = gain ? (tf.div(convertAdc(y, p, adc), gain) as tf.Tensor2D) : convertAdc(y, p, adc);
        const conv = weight === 1 ? digital : (tf.mul(digital, weight) as tf.Tensor2D);
        acc = acc ? (tf.add(acc, conv) as tf.Tensor2D) : conv;
      });
      return { y: tf.div(acc!, scale) as tf.Tensor2D, sat: sat! };
    });
  let { y, sat } = once(1, 0);
  if (!p.iterative) {
    sat.dispose();
    return y;
  }
  for (let k = 1; k <= p.iterations; k++) {
    // Small [B, colTiles] readback: deciding whether to iterate needs the host.
    if (!sat.dataSync().some((v) => v > 0)) break;
    const next = once(2 ** -k, k);
    const merged = tf.tidy(() => {
      const mask = tf.cast(expandCols(sat, r.layout.colSpans), 'bool');
      // Still saturated only where it was and remains so.
      return { y: tf.where(mask, next.y, y) as tf.Tensor2D, sat: tf.mul(sat, next.sat) as tf.Tensor2D };
    });
    [y, sat, next.y, next.sat].forEach((t) => t.dispose());
    ({ y, sat } = merged);
  }
  sat.dispose();
  return y;
}

function reference(r: TileRead, rng: RandomStream): tf.Tensor2D {
  const { x, layout } = r;
  const B = x.shape[0];
  const parts = layout.rowSpans.map((span, i) =>
    tf.tidy(() => {
      const xi = layout.rowSpans.length === 1 ? x : (tf.slice(x, [0, span.start], [B, span.size]) as tf.Tensor2D);
      const alpha = inputScale(xi, r.periphery.absMax);
      const y = tileMVM(r, tf.div(xi, alpha) as tf.Tensor2D, i, rng.child(`rowtile-${i}`));
      return tf.mul(tf.mul(y, alpha), r.scales[i]!) as tf.Tensor2D;
    }),
  );
  const sum = parts.length === 1 ? parts[0]! : (tf.addN(parts) as tf.Tensor2D);
  if (parts.length > 1) parts.forEach((q) => q.dispose());
  if (r.gdc === 1) return sum;
  const out = tf.mul(sum, r.gdc) as tf.Tensor2D;
  sum.dispose();
  return out;
}

function native(e: NativeEngine, r: TileRead, rng: RandomStream): tf.Tensor2D {
  const h = e.heap!;
  const { x, layout: L, periphery: p } = r;
  const [B, inF] = x.shape;
  const tiles = L.rowSpans.length;
  const K = p.iterative ? p.iterations : 0;
  const P = inputPasses(p);
  const streamStates = (on: boolean, name: string): Int32Array => {
    const states = new Int32Array(tiles * (K + 1) * P * 4);
    if (!on) return states;
    for (let i = 0; i < tiles; i++) {
      for (let k = 0; k <= K; k++) {
        for (let pi = 0; pi < P; pi++) {
          const st = rng.child(`rowtile-${i}`, `${name}-${passTag(k, pi)}`).state();
          states.set([st.a, st.b, st.c, st.d], ((i * (K + 1) + k) * P + pi) * 4);
        }
      }
    }
    return states;
  };
  const states = streamStates(p.outputNoise > 0, 'bm');
  const inputStates = streamStates(p.inputNoise > 0, 'inp');
  const rowSpans = Int32Array.from(L.rowSpans.flatMap((s) => [s.start, s.size]));
  const params = Float64Array.of(
    p.dacStep,
    p.dacBound,
    p.adcStep,
    p.adcBound,
    p.outputNoise,
    p.absMax ? 1 : 0,
    p.iterative ? 1 : 0,
    K,
    r.gdc,
    p.inputNoise,
    { ideal: 0, ramp: 1, sar: 2 }[p.adcModel],
    p.adcBits,
    p.inputBitsPerPass,
    p.dacBits,
  );
  const out = heapTensor(h, [B, L.outFeatures]) as tf.Tensor2D;
  // Views after the allocation (it may grow the heap).
  const weights = r.weights.map((w) => h.typedArrayFromHeap(w));
  e.lib.analogForward(
    h.typedArrayFromHeap(x),
    B,
    inF,
    L.outFeatures,
    rowSpans,
    weights,
    r.hostScales(),
    L.colTileOf,
    L.colSpans.length,
    params,
    states,
    inputStates,
    r.nonlinearity ? [...r.nonlinearity] : [],
    r.adc ? r.adc.map((a) => a.gain) : [],
    r.adc ? r.adc.map((a) => a.offset) : [],
    r.adc ? r.adc.map((a) => a.weights) : [],
    r.adcRangeGain ? [...r.adcRangeGain] : [],
    h.typedArrayFromHeap(out),
  );
  return out;
}

/** y[B, out] = the analog read of x[B, in] through the tiles' periphery (noise from `rng`). */
export const analogTile = defineKernel({ name: 'analogTile', needs: 'heap', reference, native });
