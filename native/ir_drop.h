// IR drop of one crossbar array as an effective conductance matrix (the fast model of
// src/tensor/kernels/ir-drop.ts, same recurrences in double precision).
#pragma once

namespace aimc {

// out[R·N] = M with I_j = Σ_i M_ij·V_i for conductances g[R·N] (µS, row-major) and wire
// segments r_row, r_col (Ω; 0 = ideal wire).
void ir_drop(const float* g, int R, int N, double r_row, double r_col, float* out);

}  // namespace aimc
