// AVX2+FMA micro-kernel: a 6x16 tile in 12 ymm accumulators. Built with -mavx2 -mfma.
// Everything except the exported entry point has internal linkage (see sgemm_kernels.h).
#include <immintrin.h>

#include "sgemm_kernels.h"

namespace aimc {
namespace kern {

namespace {

constexpr int MR = kAvx2MR;
constexpr int NR = kAvx2NR;

// R rows, V vectors of 8 columns: edge tiles do only the arithmetic they need.
template <int R, int V>
inline void tile(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, int cols, bool accumulate) {
  __m256 s[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) s[r][v] = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (int k = 0; k < kc; k++) {
    __m256 bv[V];
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) bv[v] = _mm256_load_ps(b + 8 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const __m256 av = _mm256_broadcast_ss(a + r);
#pragma GCC unroll 2
      for (int v = 0; v < V; v++) s[r][v] = _mm256_fmadd_ps(av, bv[v], s[r][v]);
    }
    a += MR;
    b += NR;
  }
  const int rem = cols - 8 * (V - 1);  // columns in the last vector, 1..8
  if (rem == 8) {
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      float* p = c + r * ldc;
#pragma GCC unroll 2
      for (int v = 0; v < V; v++) {
        __m256 x = s[r][v];
        if (accumulate) x = _mm256_add_ps(x, _mm256_loadu_ps(p + 8 * v));
        _mm256_storeu_ps(p + 8 * v, x);
      }
    }
    return;
  }
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    float* p = c + r * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < V - 1; v++) {
      __m256 x = s[r][v];
      if (accumulate) x = _mm256_add_ps(x, _mm256_loadu_ps(p + 8 * v));
      _mm256_storeu_ps(p + 8 * v, x);
    }
    float* q = p + 8 * (V - 1);
    __m256 x = s[r][V - 1];
    if (accumulate) x = _mm256_add_ps(x, _mm256_maskload_ps(q, mask));
    _mm256_maskstore_ps(q, mask, x);
  }
}

template <int V>
void rows_dispatch(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, int rows, int cols, bool acc) {
  switch (rows) {
    case 1: return tile<1, V>(kc, a, b, c, ldc, cols, acc);
    case 2: return tile<2, V>(kc, a, b, c, ldc, cols, acc);
    case 3: return tile<3, V>(kc, a, b, c, ldc, cols, acc);
    case 4: return tile<4, V>(kc, a, b, c, ldc, cols, acc);
    case 5: return tile<5, V>(kc, a, b, c, ldc, cols, acc);
    default: return tile<6, V>(kc, a, b, c, ldc, cols, acc);
  }
}

}  // namespace

void tile_avx2(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, int rows, int cols, bool accumulate) {
  if (cols > 8) rows_dispatch<2>(kc, a, b, c, ldc, rows, cols, accumulate);
  else rows_dispatch<1>(kc, a, b, c, ldc, rows, cols, accumulate);
}

}  // namespace kern
}  // namespace aimc
