// Row-major SGEMM used by aimc's wasm kernels: C[M,N] = op(A)[M,K] · op(B)[K,N] (+ C if beta).
#pragma once
#include <cstddef>
#include <functional>

namespace aimc {

/** Which micro-kernel the running CPU gets. */
enum class Isa { Scalar, Avx2 };

Isa detected_isa();
const char* isa_name(Isa isa);

/** Threads used for large problems (hardware_concurrency, or AIMC_THREADS). */
int thread_count();

/** Run fn(t, T) on every pool thread t of T and wait (fn must split its own work). */
void parallel(const std::function<void(int, int)>& fn);

/**
 * C = op(A)·op(B) (+ C when beta != 0). A is [M,K] row-major ([K,M] when transA), B is
 * [K,N] ([N,K] when transB), C is [M,N]. Pure function of its inputs: results do not depend
 * on the thread count (each C element is summed in the same order by exactly one thread).
 */
void sgemm(int M, int N, int K, const float* A, const float* B, float* C, bool transA, bool transB, bool beta);

/**
 * `batch` independent products C_i = op(A_i)·op(B_i), with element strides between
 * consecutive A_i, B_i (0 = shared) and C_i = M·N apart; batches are spread over the pool,
 * each computed single-threaded in the same order as sgemm would.
 */
void sgemm_batched(int batch, int M, int N, int K, const float* A, size_t strideA, const float* B, size_t strideB, float* C, bool transA,
                   bool transB);

}  // namespace aimc
