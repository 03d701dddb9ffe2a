/**
 * IR drop of one crossbar array as an effective conductance matrix: the fast model of
 * src/crossbar/ir-drop.ts (one sweep of line relaxation from ideal word lines and grounded
 * bit lines) is linear in the input voltages, so it is a matrix M[R, N] with I_j = Σ_i M_ij·V_i,
 * computed once per read from the conductances G[R, N] and the wire segments:
 *
 *   c_ij  word-line node voltages for a unit input on row i (tridiagonal solve along the row,
 *         bit lines at 0 V): d_j = g_ij + 2·gw (gw at the far end), off-diagonal −gw, rhs gw·e_0;
 *   z^j   row R−1 of the bit line's inverse (T symmetric: T z = e_{R−1}): d_i = g_ij + 2·gb
 *         (gb at the top node), off-diagonal −gb;
 *   M_ij = gb·z^j_i·g_ij·c_ij.
 *
 * gw = 10⁶/rRow and gb = 10⁶/rCol µS; a zero segment is an ideal wire (c = 1, gb·z = 1), so
 * zero resistance on both gives M = G. Units: µS in, µS out, Ω for the segments. The reference
 * is plain JS in double precision; the native engine runs the same recurrences in C++.
 */
import type { NativeEngine } from './engine.js';
import { defineKernel } from './kernel.js';

/** Effective conductances M[R, N] (µS) of G[R, N] (µS, row-major) with row / column segments rRow, rCol (Ω). */
function reference(g: Float32Array, R: number, N: number, rRow: number, rCol: number): Float32Array {
  const out = new Float32Array(R * N);
  const c = new Float64Array(R * N);
  if (rRow > 0) {
    const gw = 1e6 / rRow;
    const d = new Float64Array(N);
    const rhs = new Float64Array(N);
    for (let i = 0; i < R; i++) {
      const row = i * N;
      // Forward elimination of the word line's system (off-diagonals −gw, rhs gw at node 0).
      d[0] = g[row]! + (N > 1 ? 2 * gw : gw);
      rhs[0] = gw;
      for (let k = 1; k < N; k++) {
        d[k] = g[row + k]! + (k < N - 1 ? 2 * gw : gw) - (gw * gw) / d[k - 1]!;
        rhs[k] = (gw * rhs[k - 1]!) / d[k - 1]!;
      }
      let next = rhs[N - 1]! / d[N - 1]!;
      c[row + N - 1] = next;
      for (let k = N - 2; k >= 0; k--) {
        next = (rhs[k]! + gw * next) / d[k]!;
        c[row + k] = next;
      }
    }
  } else c.fill(1);
  if (rCol > 0) {
    const gb = 1e6 / rCol;
    const d = new Float64Array(R);
    for (let j = 0; j < N; j++) {
      // T z = e_{R−1}: the right-hand side stays 0 until the last node, so back substitution
      // is z_{R−1} = 1/d'_{R−1}, z_k = gb·z_{k+1}/d'_k.
      d[0] = g[j]! + gb;
      for (let k = 1; k < R; k++) d[k] = g[k * N + j]! + 2 * gb - (gb * gb) / d[k - 1]!;
      let z = 1 / d[R - 1]!;
      out[(R - 1) * N + j] = gb * z * g[(R - 1) * N + j]! * c[(R - 1) * N + j]!;
      for (let k = R - 2; k >= 0; k--) {
        z = (gb * z) / d[k]!;
        out[k * N + j] = gb * z * g[k * N + j]! * c[k * N + j]!;
      }
    }
  } else for (let k = 0; k < R * N; k++) out[k] = g[k]! * c[k]!;
  return out;
}

function native(e: NativeEngine, g: Float32Array, R: number, N: number, rRow: number, rCol: number): Float32Array {
  const out = new Float32Array(R * N);
  e.lib.irDrop(g, R, N, rRow, rCol, out);
  return out;
}

/** IR drop's effective conductances M[R, N] (µS) of one array G[R, N] (µS) with wire segments rRow, rCol (Ω). */
export const irDropConductances = defineKernel({ name: 'irDropConductances', needs: 'addon', reference, native });
