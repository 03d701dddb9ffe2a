// Micro-kernels of the SGEMM, one translation unit per instruction set (compiled with that
// set's -m flags and entered only after a run-time CPU check). Declarations only: nothing
// inline may be shared with the portable code, or the linker could hand AVX code to a CPU
// without AVX.
#pragma once
#include <cstddef>

namespace aimc {
namespace kern {

// Register-tile shape of each kernel: packed A panels hold MR rows per k, packed B panels
// NR columns per k (zero-padded), both contiguous over k.
constexpr int kScalarMR = 4, kScalarNR = 16;
constexpr int kAvx2MR = 6, kAvx2NR = 16;
constexpr int kAvx512MR = 12, kAvx512NR = 32;

/**
 * c[r·ldc + j] (= or += when accumulate) Σ_k a[k·MR + r]·b[k·NR + j] for r < rows <= MR and
 * j < cols <= NR; b must be 64-byte aligned. Both kernels add every product in k order with
 * a fused multiply-add, so they give identical bits (the portable kernel rounds products).
 */
void tile_avx2(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, int rows, int cols, bool accumulate);
void tile_avx512(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, int rows, int cols, bool accumulate);

}  // namespace kern
}  // namespace aimc
