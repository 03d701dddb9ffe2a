// One sweep of line relaxation from ideal word lines and grounded bit lines, as a matrix:
// see src/tensor/kernels/ir-drop.ts for the derivation. Word lines are independent of each
// other, and so are bit lines: both loops run over the thread pool.
#include "ir_drop.h"

#include <vector>

#include "sgemm.h"

namespace aimc {

void ir_drop(const float* g, int R, int N, double r_row, double r_col, float* out) {
  std::vector<double> c(static_cast<size_t>(R) * N, 1.0);
  if (r_row > 0) {
    const double gw = 1e6 / r_row;
    parallel([&](int t, int T) {
      std::vector<double> d(N), rhs(N);
      for (int i = R * t / T; i < R * (t + 1) / T; i++) {
        const float* gi = g + static_cast<size_t>(i) * N;
        double* ci = c.data() + static_cast<size_t>(i) * N;
        d[0] = gi[0] + (N > 1 ? 2 * gw : gw);
        rhs[0] = gw;
        for (int k = 1; k < N; k++) {
          d[k] = gi[k] + (k < N - 1 ? 2 * gw : gw) - gw * gw / d[k - 1];
          rhs[k] = gw * rhs[k - 1] / d[k - 1];
        }
        double next = rhs[N - 1] / d[N - 1];
        ci[N - 1] = next;
        for (int k = N - 2; k >= 0; k--) {
          next = (rhs[k] + gw * next) / d[k];
          ci[k] = next;
        }
      }
    });
  }
  if (r_col > 0) {
    const double gb = 1e6 / r_col;
    parallel([&](int t, int T) {
      std::vector<double> d(R);
      for (int j = N * t / T; j < N * (t + 1) / T; j++) {
        d[0] = g[j] + gb;
        for (int k = 1; k < R; k++) d[k] = g[static_cast<size_t>(k) * N + j] + 2 * gb - gb * gb / d[k - 1];
        double z = 1 / d[R - 1];
        for (int k = R - 1; k >= 0; k--) {
          if (k < R - 1) z = gb * z / d[k];
          const size_t at = static_cast<size_t>(k) * N + j;
          out[at] = static_cast<float>(gb * z * g[at] * c[at]);
        }
      }
    });
  } else {
    const size_t n = static_cast<size_t>(R) * N;
    for (size_t k = 0; k < n; k++) out[k] = static_cast<float>(g[k] * c[k]);
  }
}

}  // namespace aimc
