// AVX-512F micro-kernel: a 12x32 tile in 24 zmm accumulators, masked edge stores.
// Built with -mavx512f -mavx2 -mfma. Internal linkage except the entry point (see
// sgemm_kernels.h).
#include <immintrin.h>

#include "sgemm_kernels.h"

namespace aimc {
namespace kern {

namespace {

constexpr int MR = kAvx512MR;
constexpr int NR = kAvx512NR;

template <int R, int V>
inline void tile(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, int cols, bool accumulate) {
  __m512 s[R][V];
#pragma GCC unroll 16
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) s[r][v] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int k = 0; k < kc; k++) {
    __m512 bv[V];
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      const __m512 av = _mm512_set1_ps(a[r]);
#pragma GCC unroll 2
      for (int v = 0; v < V; v++) s[r][v] = _mm512_fmadd_ps(av, bv[v], s[r][v]);
    }
    a += MR;
    b += NR;
  }
  const int rem = cols - 16 * (V - 1);  // columns in the last vector, 1..16
  const __mmask16 last = static_cast<__mmask16>((1u << rem) - 1u);
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
    float* p = c + r * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) {
      const __mmask16 m = v == V - 1 ? last : static_cast<__mmask16>(0xFFFF);
      __m512 x = s[r][v];
      if (accumulate) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, p + 16 * v));
      _mm512_mask_storeu_ps(p + 16 * v, m, x);
    }
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
    case 6: return tile<6, V>(kc, a, b, c, ldc, cols, acc);
    case 7: return tile<7, V>(kc, a, b, c, ldc, cols, acc);
    case 8: return tile<8, V>(kc, a, b, c, ldc, cols, acc);
    case 9: return tile<9, V>(kc, a, b, c, ldc, cols, acc);
    case 10: return tile<10, V>(kc, a, b, c, ldc, cols, acc);
    case 11: return tile<11, V>(kc, a, b, c, ldc, cols, acc);
    default: return tile<12, V>(kc, a, b, c, ldc, cols, acc);
  }
}

}  // namespace

void tile_avx512(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, int rows, int cols, bool accumulate) {
  if (cols > 16) rows_dispatch<2>(kc, a, b, c, ldc, rows, cols, accumulate);
  else rows_dispatch<1>(kc, a, b, c, ldc, rows, cols, accumulate);
}

}  // namespace kern
}  // namespace aimc
