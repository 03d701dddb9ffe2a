// Evaluator of aimc's compiled device expressions (src/device/expr.ts, OP codes), run in
// cache-sized chunks over float32 arrays, in double precision, split over the thread pool.
#pragma once
#include <cstddef>

namespace aimc {

/**
 * out[i] = program(vars[0][i], vars[1][i], …) for i < n; a variable of length 1 is
 * broadcast. program holds n_ops [op, arg] pairs; depth is its maximum stack depth.
 */
void eval_expr(const double* program, int n_ops, int depth, const float* const* vars, const size_t* var_len, int n_vars, float* out,
               size_t n);

}  // namespace aimc
