#include "analog.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "random.h"
#include "sgemm.h"

namespace aimc {

namespace {

// Round half to even, exactly as rint() in fused-periphery.ts.
inline double rint_even(double v) {
  const double r = std::floor(v + 0.5);
  return (r - v == 0.5 && (static_cast<int64_t>(r) & 1) != 0) ? r - 1 : r;
}

}  // namespace

void analog_forward(const float* x, int B, int inF, int outF, const std::vector<int>& row_start, const std::vector<const float*>& weights,
                    const std::vector<const float*>& scales, const int32_t* col_tile_of, int n_col_tiles, const AnalogParams& p,
                    int32_t* states, float* out) {
  const size_t n = static_cast<size_t>(B) * outF;
  const int tiles = static_cast<int>(weights.size());
  std::vector<double> alpha(B);
  std::vector<float> xq, y(n), noise(p.sigma > 0 ? n : 0), tile(n), next(n);
  std::vector<uint8_t> sat(static_cast<size_t>(B) * n_col_tiles), next_sat(sat.size());
  std::memset(out, 0, n * sizeof(float));

  for (int i = 0; i < tiles; i++) {
    const int start = row_start[i];
    const int size = row_start[i + 1] - start;
    xq.resize(static_cast<size_t>(B) * size);
    for (int b = 0; b < B; b++) {
      if (!p.abs_max) {
        alpha[b] = 1;
        continue;
      }
      double a = 0;
      const float* row = x + static_cast<size_t>(b) * inF + start;
      for (int k = 0; k < size; k++) a = std::max(a, static_cast<double>(std::fabs(row[k])));
      alpha[b] = a > 1e-12 ? a : 1e-12;
    }
    auto pass = [&](double scale, int k, float* dst, uint8_t* flags) {
      for (int b = 0; b < B; b++) {
        const float* row = x + static_cast<size_t>(b) * inF + start;
        float* q = xq.data() + static_cast<size_t>(b) * size;
        for (int c = 0; c < size; c++) {
          double v = static_cast<double>(static_cast<float>(row[c] / alpha[b])) * scale;
          v = v > p.dac_bound ? p.dac_bound : v < -p.dac_bound ? -p.dac_bound : v;
          q[c] = static_cast<float>(p.dac_step > 0 ? rint_even(v / p.dac_step) * p.dac_step : v);
        }
      }
      sgemm(B, outF, size, xq.data(), weights[i], y.data(), false, false, false);
      if (p.sigma > 0) fill_normal(states + (static_cast<size_t>(i) * (p.max_iter + 1) + k) * 4, noise.data(), n);
      std::memset(flags, 0, sat.size());
      for (size_t idx = 0; idx < n; idx++) {
        // Same rounding points as the JS loop: noise·σ in double rounded to float, float add.
        double v = y[idx];
        if (p.sigma > 0) v = y[idx] + static_cast<float>(static_cast<double>(noise[idx]) * p.sigma);
        if (v >= p.adc_bound || v <= -p.adc_bound) {
          const size_t b = idx / outF;
          flags[b * n_col_tiles + col_tile_of[idx - b * outF]] = 1;
          v = v > 0 ? p.adc_bound : -p.adc_bound;
        }
        dst[idx] = static_cast<float>((p.adc_step > 0 ? rint_even(v / p.adc_step) * p.adc_step : v) / scale);
      }
    };
    pass(1, 0, tile.data(), sat.data());
    if (p.iterative) {
      auto any = [&] { return std::any_of(sat.begin(), sat.end(), [](uint8_t v) { return v != 0; }); };
      for (int k = 1; k <= p.max_iter && any(); k++) {
        pass(std::ldexp(1.0, -k), k, next.data(), next_sat.data());
        for (size_t idx = 0; idx < n; idx++) {
          const size_t b = idx / outF;
          if (sat[b * n_col_tiles + col_tile_of[idx - b * outF]]) tile[idx] = next[idx];
        }
        for (size_t f = 0; f < sat.size(); f++) sat[f] &= next_sat[f];
      }
    }
    const float* s = scales[i];
    for (int b = 0; b < B; b++) {
      const double a = alpha[b];
      float* o = out + static_cast<size_t>(b) * outF;
      const float* t = tile.data() + static_cast<size_t>(b) * outF;
      for (int j = 0; j < outF; j++) o[j] = o[j] + static_cast<float>(static_cast<double>(static_cast<float>(t[j] * a)) * s[j]);
    }
  }
  if (p.gdc != 1) {
    for (size_t k = 0; k < n; k++) out[k] = static_cast<float>(out[k] * p.gdc);
  }
}

}  // namespace aimc
