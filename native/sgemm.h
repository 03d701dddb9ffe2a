// Row-major SGEMM for aimc's wasm kernels: C[M,N] (= or +=) op(A)[M,K]·op(B)[K,N], with an
// optional fused bias + activation epilogue (tfjs's _FusedMatMul).
#pragma once
#include <cstddef>

#include "pool.h"

namespace aimc {

/** Micro-kernel families, best first; the CPU's is chosen at run time. */
enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

/** Best kernel the running CPU (and this build) supports. */
Isa detected_isa();
/** Kernel in use: detected_isa() unless lowered by AIMC_ISA or set_isa (tests). */
Isa active_isa();
/** Use `isa` if the CPU supports it (else the best it does); returns the kernel in use. */
Isa set_isa(Isa isa);
const char* isa_name(Isa isa);

/** Activations _FusedMatMul can ask for that the epilogue computes natively. */
enum class Activation { Linear = 0, Relu = 1, Relu6 = 2, Sigmoid = 3, LeakyRelu = 4, Elu = 5 };

/**
 * Applied to every element of C once its sum is complete: v = act(v + bias), bias per
 * column (bias_len == N) or a scalar (bias_len == 1), none when bias is null.
 */
struct Epilogue {
  const float* bias = nullptr;
  size_t bias_len = 0;
  Activation act = Activation::Linear;
  float alpha = 0.2f;  // leakyrelu slope
};

/**
 * C = op(A)·op(B) (+ C when beta). A is [M,K] row-major ([K,M] when transA), B is [K,N]
 * ([N,K] when transB), C is [M,N]. Each element is summed in a fixed order that depends on
 * neither the thread count nor the tiling, so results are reproducible run to run and equal
 * between sgemm, sgemm_batched and a batch folded into rows.
 */
void sgemm(int M, int N, int K, const float* A, const float* B, float* C, bool transA, bool transB, bool beta,
           const Epilogue* ep = nullptr);

/**
 * `batch` products C_i = op(A_i)·op(B_i) (+ C_i when beta), A_i = A + i·strideA, B_i = B +
 * i·strideB (strides in elements, 0 = shared), C_i = C + i·M·N; same sums as sgemm.
 */
void sgemm_batched(int batch, int M, int N, int K, const float* A, size_t strideA, const float* B, size_t strideB, float* C, bool transA,
                   bool transB, bool beta = false, const Epilogue* ep = nullptr);

}  // namespace aimc
