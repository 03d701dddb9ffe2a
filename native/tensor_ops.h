// Generic tensor kernels for the aimc backend (see tensor_ops.cc).
#pragma once
#include <cstdint>

namespace aimc {

/** out = in transposed by perm (out dim d = in dim perm[d]); shapes of rank <= 8. */
void transpose(const float* in, const int* shape, const int* perm, int rank, float* out);

/** out = a op b with numpy broadcasting (shapes already padded to `rank`); op 0 add, 1 sub, 2 mul, 3 div. */
void binary(int op, const float* a, const int* a_shape, const float* b, const int* b_shape, const int* out_shape, int rank, float* out);

/** Elementwise: op 0 relu (NaN kept), op 1 step (1 where x > 0, else alpha; NaN kept). */
void unary(int op, const float* in, int64_t n, float alpha, float* out);

/** Softmax over the last axis of in[rows, cols]. */
void softmax(const float* in, int64_t rows, int64_t cols, float* out);

/** out[k1, k2] = Σ_r in[k1, r, k2] (accumulated in double): any float32 sum whose reduced axes are contiguous. */
void reduce_sum(const float* in, int64_t k1, int64_t r, int64_t k2, float* out);

}  // namespace aimc
