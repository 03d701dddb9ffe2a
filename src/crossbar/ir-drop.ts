/**
 * IR drop: the resistive network of one crossbar array, solved exactly, and a fast
 * first-order approximation of it.
 *
 * The array: R word lines (rows) driven at their left end with input voltages V_i, C bit
 * lines (columns) held at virtual ground below their last row, where the output current is
 * sensed. Device G_ij joins word-line node (i, j) to bit-line node (i, j). Consecutive nodes
 * of a word line — and the driver and node (i, 0) — are joined by a wire segment of
 * resistance rRow; consecutive nodes of a bit line, and its last node and the ground, by
 * rCol. Units: conductance µS, voltage V, current µA, resistance Ω.
 *
 * The network is linear, so for given conductances the outputs are linear in the inputs;
 * what makes IR drop matter is that the effective matrix is not G but depends on all of G.
 *
 * Fast model: one or two sweeps of the same line relaxation (`sweeps`), O(R·C) per input
 * vector like the MVM itself. Measured against the converged solve (test/crossbar/ir-drop.test.ts;
 * conductances 25·u² µS, inputs ±0.2 V, equal row and column segments), relative output error:
 *
 *   array, segment   drop vs ideal   1 sweep   2 sweeps   first-order
 *   128², 2.5 Ω      24 %            0.27 %    0.004 %    5.2 %
 *   256², 1 Ω        33 %            0.97 %    0.03 %     11 %
 *   512², 1 Ω        166 %           1.8 %     0.03 %     230 %
 *
 * aihwkit's `ir_drop` is a fitted polynomial in the same spirit as the first-order column.
 *
 * In the read path (a profile's `tile.irDrop`), the one-sweep model is used as an effective
 * conductance matrix per read — it is linear in the inputs — computed by the
 * `irDropConductances` kernel; `irDropWeights` below lays a tile's pairs onto its arrays.
 */

import * as tf from '@tensorflow/tfjs';
import type { DeviceModel } from '../device/model.js';
import { irDropConductances, type Span } from '../tensor/kernels/index.js';
import { weightsOf } from './mapping.js';

/** A crossbar array's wires: segment resistances, Ω (0 = ideal wire). */
export interface Wires {
  rRow: number;
  rCol: number;
}

export interface SolveOptions {
  /** Stop when no node voltage moves by more than this fraction of max |V| in a sweep. */
  tolerance?: number;
  /** Give up (and throw) after this many sweeps. */
  maxSweeps?: number;
  /** Run exactly this many sweeps and return what they give (the fast approximation), converged or not. */
  sweeps?: number;
}

/** Ideal outputs I_j = Σ_i G_ij·V_i (µA) for G[R×C] row-major (µS) and V[R] (V). */
export function idealCurrents(G: Float64Array, V: Float64Array, R: number, C: number): Float64Array {
  const out = new Float64Array(C);
  for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) out[j] = out[j]! + G[i * C + j]! * V[i]!;
  return out;
}

/**
 * Solve the tridiagonal system a_k·x_{k−1} + d_k·x_k + a_k'·x_{k+1} = rhs_k with constant
 * off-diagonal −g (Thomas algorithm); `d` and `rhs` are overwritten, the result goes to `x`.
 */
function tridiagonal(n: number, g: number, d: Float64Array, rhs: Float64Array, x: Float64Array, xOff: number, xStride: number): void {
  // Forward elimination with off-diagonals −g.
  for (let k = 1; k < n; k++) {
    const m = -g / d[k - 1]!;
    d[k] = d[k]! - m * -g;
    rhs[k] = rhs[k]! - m * rhs[k - 1]!;
  }
  let next = rhs[n - 1]! / d[n - 1]!;
  x[xOff + (n - 1) * xStride] = next;
  for (let k = n - 2; k >= 0; k--) {
    next = (rhs[k]! + g * next) / d[k]!;
    x[xOff + k * xStride] = next;
  }
}

/**
 * The exact output currents (µA) of one array with wire resistance: the nodal equations of
 * all 2·R·C nodes solved by alternating line relaxation (each word line, then each bit line,
 * solved exactly as a tridiagonal system given the other lines' voltages) until converged.
 * Zero wire resistance is the ideal sum, returned without iterating.
 */
export function solveCrossbar(G: Float64Array, V: Float64Array, R: number, C: number, wires: Wires, opts: SolveOptions = {}): Float64Array {
  if (wires.rRow < 0 || wires.rCol < 0 || !Number.isFinite(wires.rRow) || !Number.isFinite(wires.rCol)) {
    throw new Error(`wire resistances must be finite and >= 0 Ω, got rRow ${wires.rRow}, rCol ${wires.rCol}`);
  }
  if (wires.rRow === 0 && wires.rCol === 0) return idealCurrents(G, V, R, C);
  // A zero segment is a short: model it as a very large conductance (1 mΩ⁻¹ … here 1e12 µS).
  const gw = wires.rRow > 0 ? 1e6 / wires.rRow : 1e12;
  const gb = wires.rCol > 0 ? 1e6 / wires.rCol : 1e12;
  const tol = (opts.tolerance ?? 1e-12) * Math.max(1e-300, ...Array.from(V, Math.abs));
  const maxSweeps = opts.maxSweeps ?? 100_000;
  const w = new Float64Array(R * C); // word-line node voltages
  const b = new Float64Array(R * C); // bit-line node voltages
  for (let i = 0; i < R; i++) w.fill(V[i]!, i * C, (i + 1) * C);
  const d = new Float64Array(Math.max(R, C));
  const rhs = new Float64Array(Math.max(R, C));
  const prev = new Float64Array(R * C);
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    prev.set(w);
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < C; j++) {
        const g = G[i * C + j]!;
        d[j] = (j < C - 1 ? 2 * gw : gw) + g;
        rhs[j] = g * b[i * C + j]! + (j === 0 ? gw * V[i]! : 0);
      }
      tridiagonal(C, gw, d, rhs, w, i * C, 1);
    }
    for (let j = 0; j < C; j++) {
      for (let i = 0; i < R; i++) {
        const g = G[i * C + j]!;
        // The top node has no segment above it; the last one's segment below goes to ground.
        d[i] = (i === 0 ? gb : 2 * gb) + g;
        rhs[i] = g * w[i * C + j]!;
      }
      if (R === 1) d[0] = gb + G[j]!;
      tridiagonal(R, gb, d, rhs, b, j, C);
    }
    let change = 0;
    for (let k = 0; k < w.length; k++) change = Math.max(change, Math.abs(w[k]! - prev[k]!));
    if (change <= tol || sweep + 1 === opts.sweeps) {
      const out = new Float64Array(C);
      for (let j = 0; j < C; j++) out[j] = gb * b[(R - 1) * C + j]!;
      return out;
    }
  }
  throw new Error(`IR-drop solve did not converge in ${maxSweeps} sweeps (R ${R}, C ${C}, rRow ${wires.rRow} Ω, rCol ${wires.rCol} Ω)`);
}

/**
 * First-order IR drop (µA): every cell's current is its ideal G_ij·V_i less what the wires'
 * drops, computed from those ideal currents, take away:
 *   δw_ij = rRow·Σ_m I_im·(min(m, j) + 1)      (word line: segments 0…j carry the cells beyond)
 *   δb_ij = rCol·Σ_k I_kj·(R − max(k, i))      (bit line: segments i…R−1 carry the cells above)
 *   I_j ≈ Σ_i G_ij·(V_i − δw_ij − δb_ij)
 * exact to first order in wire resistance × conductance × line length; O(R·C) per input with
 * prefix sums. `order` > 1 repeats the correction with the corrected currents (a Jacobi
 * iteration of the same equations), which converges to the exact solution while
 * rRow·G·C² and rCol·G·R² stay small.
 */
export function firstOrderCurrents(G: Float64Array, V: Float64Array, R: number, C: number, wires: Wires, order = 1): Float64Array {
  const rw = wires.rRow * 1e-6; // Ω → 1/µS, so that µA × Ω·1e-6 = V
  const rb = wires.rCol * 1e-6;
  let I = new Float64Array(R * C);
  for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) I[i * C + j] = G[i * C + j]! * V[i]!;
  const drop = new Float64Array(R * C);
  for (let it = 0; it < order; it++) {
    drop.fill(0);
    // Word lines: δw_ij = rw·(Σ_{m≤j} I_im·(m + 1) + (j + 1)·Σ_{m>j} I_im).
    for (let i = 0; i < R; i++) {
      let total = 0;
      for (let m = 0; m < C; m++) total += I[i * C + m]!;
      let weighted = 0;
      let below = 0;
      for (let j = 0; j < C; j++) {
        const c = I[i * C + j]!;
        weighted += c * (j + 1);
        below += c;
        drop[i * C + j] = rw * (weighted + (j + 1) * (total - below));
      }
    }
    // Bit lines: δb_ij = rb·(Σ_{k≥i} I_kj·(R − k) + (R − i)·Σ_{k<i} I_kj).
    for (let j = 0; j < C; j++) {
      let above = 0;
      let weightedBelow = 0;
      for (let k = 0; k < R; k++) weightedBelow += I[k * C + j]! * (R - k);
      for (let i = 0; i < R; i++) {
        drop[i * C + j] = drop[i * C + j]! + rb * (weightedBelow + (R - i) * above);
        const c = I[i * C + j]!;
        weightedBelow -= c * (R - i);
        above += c;
      }
    }
    const next = new Float64Array(R * C);
    for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) next[i * C + j] = G[i * C + j]! * (V[i]! - drop[i * C + j]!);
    I = next;
  }
  const out = new Float64Array(C);
  for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) out[j] = out[j]! + I[i * C + j]!;
  return out;
}

export interface IrDropComparison {
  rows: number;
  cols: number;
  rRow: number;
  rCol: number;
  /** Relative output error of the ideal sum against the exact solve: the IR drop itself. */
  drop: number;
  /** The same for the fast model at 1, 2 and 3 sweeps, and for the first-order model. */
  sweeps: { sweeps: number; relativeError: number }[];
  firstOrder: number;
  /** Time of the exact solve, ms. */
  exactMs: number;
}

/** ‖a − b‖ / ‖b‖. */
function relativeError(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let k = 0; k < a.length; k++) {
    num += (a[k]! - b[k]!) ** 2;
    den += b[k]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

/**
 * One random array (conductances gMax·u² µS — most weights small — and inputs uniform in
 * ±v volts, from `uniform`) solved exactly and by each approximation: how large the drop is
 * and how close each model comes.
 */
export function compareIrDrop(
  rows: number,
  cols: number,
  wires: Wires,
  gMax: number,
  v: number,
  uniform: (n: number) => Float32Array,
): IrDropComparison {
  const G = Float64Array.from(uniform(rows * cols), (u) => gMax * u * u);
  const V = Float64Array.from(uniform(rows), (u) => v * (2 * u - 1));
  const t0 = performance.now();
  const exact = solveCrossbar(G, V, rows, cols, wires);
  const exactMs = performance.now() - t0;
  return {
    rows,
    cols,
    rRow: wires.rRow,
    rCol: wires.rCol,
    drop: relativeError(idealCurrents(G, V, rows, cols), exact),
    sweeps: [1, 2, 3].map((k) => ({
      sweeps: k,
      relativeError: relativeError(solveCrossbar(G, V, rows, cols, wires, { sweeps: k }), exact),
    })),
    firstOrder: relativeError(firstOrderCurrents(G, V, rows, cols, wires), exact),
    exactMs,
  };
}

/**
 * Normalized weights [rows, out] of one row tile read through its wires' IR drop: each column
 * tile is one array whose word lines carry the differential pair on adjacent columns (G+ at
 * 2j, G− at 2j + 1), turned into effective conductances by the fast model
 * (`irDropConductances`) and mapped back to weights as the profile maps them. Conductances µS.
 */
export function irDropWeights(
  device: DeviceModel,
  pos: tf.Tensor2D,
  neg: tf.Tensor2D | null,
  colSpans: readonly Span[],
  wires: Wires,
): tf.Tensor2D {
  const R = pos.shape[0];
  return tf.tidy(() => {
    const parts = colSpans.map((c) => {
      const gp = colSpans.length === 1 ? pos : tf.slice(pos, [0, c.start], [R, c.size]);
      const gn = !neg ? null : colSpans.length === 1 ? neg : tf.slice(neg, [0, c.start], [R, c.size]);
      const N = gn ? 2 * c.size : c.size;
      const g = gn ? tf.reshape(tf.stack([gp, gn], 2), [R, N]) : gp;
      const m = tf.tensor2d(irDropConductances(g.dataSync() as Float32Array, R, N, wires.rRow, wires.rCol), [R, N]);
      if (!gn) return weightsOf(device, m, null);
      const [mp, mn] = tf.unstack(tf.reshape(m, [R, c.size, 2]), 2);
      return weightsOf(device, mp!, mn!);
    });
    return (parts.length === 1 ? parts[0]! : tf.concat(parts, 1)) as tf.Tensor2D;
  });
}
