#include "analog.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "random.h"
#include "sgemm.h"

namespace aimc {

namespace {

// Round half to even, as rint() in fused-periphery.ts: adding and subtracting 1.5·2^52
// rounds to an integer in the default (nearest-even) mode, exactly for |v| < 2^51, which
// converter levels are far below. Needs no SSE4.1 and no libm call.
inline double rint_even(double v) {
  constexpr double magic = 6755399441055744.0;
  // Without -ffast-math the compiler must keep both operations (they are not an identity).
  return (v + magic) - magic;
}

}  // namespace

void analog_forward(const float* x, int B, int inF, int outF, const std::vector<int>& row_start, const std::vector<int>& row_size,
                    const std::vector<const float*>& weights,
                    const std::vector<const float*>& scales, const int32_t* col_tile_of, int n_col_tiles, const AnalogParams& p,
                    int32_t* states, int32_t* in_states, const std::vector<const float*>& nonlinearity,
                    const std::vector<AdcColumns>& adc, const std::vector<const float*>& range_gain, float* out) {
  const size_t n = static_cast<size_t>(B) * outF;
  const int tiles = static_cast<int>(weights.size());
  // Scratch reused across calls (fresh multi-MB vectors meant page faults on every call);
  // thread_local so concurrent callers (worker threads) never share it. The lambdas below
  // run on pool threads, so they must see these through the local references, never by
  // naming the thread_local objects themselves.
  thread_local std::vector<double> tl_alpha;
  thread_local std::vector<float> tl_xq, tl_y, tl_noise, tl_tile, tl_next, tl_noise0, tl_in_noise, tl_xbase;
  thread_local std::vector<uint8_t> tl_sat, tl_next_sat;
  thread_local std::vector<int> tl_rows;
  auto& alpha = tl_alpha;
  auto& xq = tl_xq;
  auto& y = tl_y;
  auto& noise = tl_noise;
  auto& tile = tl_tile;
  auto& next = tl_next;
  auto& sat = tl_sat;
  auto& next_sat = tl_next_sat;
  auto& noise0 = tl_noise0;
  auto& in_noise = tl_in_noise;
  auto& xbase = tl_xbase;
  auto& rows = tl_rows;
  // Input bit slicing: P passes of bits_per_pass bits each (1 pass without it).
  const int P = p.bits_per_pass > 0 ? (p.dac_bits + p.bits_per_pass - 1) / p.bits_per_pass : 1;
  alpha.resize(B);
  y.resize(n);
  noise.resize(n);
  tile.resize(n);
  next.resize(n);
  sat.resize(static_cast<size_t>(B) * n_col_tiles);
  next_sat.resize(sat.size());
  std::memset(out, 0, n * sizeof(float));
  // The ADC of column j (see convertAdc in analog-tile.ts): ideal, ramp or SAR.
  const double adc_bound = p.adc_bound, adc_step = p.adc_step;
  auto clip = [adc_bound](double v) { return v > adc_bound ? adc_bound : v < -adc_bound ? -adc_bound : v; };
  auto quantize = [adc_step](double v) { return adc_step > 0 ? rint_even(v / adc_step) * adc_step : v; };
  auto convert = [&](double v, int j, const AdcColumns* ac) -> double {
    if (!ac) return quantize(clip(v));
    const double off = static_cast<double>(ac->offset[j]) * p.adc_step;
    if (p.adc_model == 1) return quantize(clip(v * (1 + static_cast<double>(ac->gain[j])) + off));
    const int b = p.adc_bits + 1;
    const double u = (clip(v + off) + p.adc_bound) / p.adc_step;
    const float* w = ac->weights + static_cast<size_t>(j) * b;
    double acc = 0;
    double code = 0;
    for (int k = b - 1; k >= 0; k--) {
      const double trial = acc + w[k];
      if (u + 0.5 >= trial) {
        acc = trial;
        code += std::ldexp(1.0, k);
      }
    }
    return std::min(code, std::ldexp(1.0, b) - 4) * p.adc_step - p.adc_bound;
  };
  // Each row tile's first-pass noise comes from its own stream, so the streams can be drawn
  // side by side on the pool (same draws as one after another).
  if (p.sigma > 0) {
    noise0.resize(n * tiles);
    parallel([&](int t, int T) {
      for (int i = tiles * t / T; i < tiles * (t + 1) / T; i++) {
        fill_normal(states + static_cast<size_t>(i) * (p.max_iter + 1) * P * 4, noise0.data() + n * i, n);
      }
    });
  }

  for (int i = 0; i < tiles; i++) {
    const int start = row_start[i];
    const int size = row_size[i];
    xq.resize(static_cast<size_t>(B) * size);
    if (P > 1) xbase.resize(xq.size());
    const float* nl = nonlinearity.empty() ? nullptr : nonlinearity[i];
    const AdcColumns* ac = adc.empty() || p.adc_model == 0 ? nullptr : &adc[i];
    const float* rgi = range_gain.empty() ? nullptr : range_gain[i];
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
    // One pass over the batch rows in `rows` (all of them first; later passes of bound
    // management only the rows still saturated, whose results are the only ones kept). Every
    // pass still draws its noise streams for the whole batch, so a row's draws do not depend
    // on which other rows needed another pass: the same numbers as the reference.
    auto pass = [&](double scale, int k, float* dst, uint8_t* flags) {
      const int R = static_cast<int>(rows.size());
      const size_t cells = static_cast<size_t>(R) * size;
      // The DAC's levels; with input bit slicing each of the P passes applies K bits of them.
      float* qd = P > 1 ? xbase.data() : xq.data();
      parallel([&](int t, int T) {
        for (int r = R * t / T; r < R * (t + 1) / T; r++) {
          const int b = rows[r];
          const float* row = x + static_cast<size_t>(b) * inF + start;
          float* q = qd + static_cast<size_t>(r) * size;
          for (int c = 0; c < size; c++) {
            double v = static_cast<double>(static_cast<float>(row[c] / alpha[b])) * scale;
            v = v > p.dac_bound ? p.dac_bound : v < -p.dac_bound ? -p.dac_bound : v;
            q[c] = static_cast<float>(p.dac_step > 0 ? rint_even(v / p.dac_step) * p.dac_step : v);
          }
        }
      });
      std::memset(flags, 0, sat.size());
      for (int pi = 0; pi < P; pi++) {
        const size_t stream = ((static_cast<size_t>(i) * (p.max_iter + 1) + k) * P + pi) * 4;
        const double digits = std::ldexp(1.0, p.bits_per_pass) - 1;
        const double weight = P > 1 ? digits * std::ldexp(1.0, p.bits_per_pass * pi) * p.dac_step : 1;
        if (P > 1) {
          const long long mask = (1LL << p.bits_per_pass) - 1;
          for (size_t e = 0; e < cells; e++) {
            const double v = xbase[e];
            const long long m = static_cast<long long>(std::llround(std::fabs(v) / p.dac_step));
            const double c = static_cast<double>((m >> (p.bits_per_pass * pi)) & mask);
            xq[e] = static_cast<float>((v < 0 ? -c : c) / digits);
          }
        }
        if (p.input_noise > 0) {
          in_noise.resize(static_cast<size_t>(B) * size);
          fill_normal(in_states + stream, in_noise.data(), in_noise.size());
          // The same rounding points as the reference: noise·σ rounded to float, float add.
          for (int r = 0; r < R; r++) {
            float* q = xq.data() + static_cast<size_t>(r) * size;
            const float* z = in_noise.data() + static_cast<size_t>(rows[r]) * size;
            for (int c = 0; c < size; c++) q[c] = q[c] + static_cast<float>(static_cast<double>(z[c]) * p.input_noise);
          }
        }
        sgemm(R, outF, size, xq.data(), weights[i], y.data(), false, false, false);
        const float* nz = noise.data();
        if (p.sigma > 0 && k == 0 && pi == 0) nz = noise0.data() + n * i;
        else if (p.sigma > 0) fill_normal(states + stream, noise.data(), n);
        // Rows are independent: split them over the pool.
        parallel([&](int t, int T) {
          for (int r = R * t / T; r < R * (t + 1) / T; r++) {
            const int b = rows[r];
            const size_t o = static_cast<size_t>(b) * outF;
            const float* yr = y.data() + static_cast<size_t>(r) * outF;
            uint8_t* fl = flags + static_cast<size_t>(b) * n_col_tiles;
            for (int j = 0; j < outF; j++) {
              // Same rounding points as the JS loop: noise·σ in double rounded to float, float add.
              double v = yr[j];
              if (p.sigma > 0) v = yr[j] + static_cast<float>(static_cast<double>(nz[o + j]) * p.sigma);
              if (nl) v = v / (1 + nl[j] * std::fabs(v));
              // A calibrated range: the ADC sees g·v (float product, as the reference) and its result is divided by g.
              const double g = rgi ? static_cast<double>(rgi[j]) : 1.0;
              if (rgi) v = static_cast<float>(v * g);
              if (v >= p.adc_bound || v <= -p.adc_bound) fl[col_tile_of[j]] = 1;
              // The ideal ADC inline: a call per element (the mismatched models loop over bits) costs ~15 %.
              double q = ac ? convert(v, j, ac) : quantize(clip(v));
              if (rgi) q = static_cast<float>(q / g);
              if (P == 1) dst[o + j] = static_cast<float>(q / scale);
              else dst[o + j] = (pi == 0 ? 0.0f : dst[o + j]) + static_cast<float>(q * weight / scale);
            }
          }
        });
      }
    };
    rows.resize(B);
    for (int b = 0; b < B; b++) rows[b] = b;
    pass(1, 0, tile.data(), sat.data());
    if (p.iterative) {
      // The rows with a saturated column tile: the only ones another pass can change.
      auto still = [&] {
        rows.clear();
        for (int b = 0; b < B; b++) {
          const uint8_t* f = sat.data() + static_cast<size_t>(b) * n_col_tiles;
          if (std::any_of(f, f + n_col_tiles, [](uint8_t v) { return v != 0; })) rows.push_back(b);
        }
        return !rows.empty();
      };
      for (int k = 1; k <= p.max_iter && still(); k++) {
        pass(std::ldexp(1.0, -k), k, next.data(), next_sat.data());
        for (size_t idx = 0; idx < n; idx++) {
          const size_t b = idx / outF;
          if (sat[b * n_col_tiles + col_tile_of[idx - b * outF]]) tile[idx] = next[idx];
        }
        for (size_t f = 0; f < sat.size(); f++) sat[f] &= next_sat[f];
      }
    }
    const float* s = scales[i];
    parallel([&](int t, int T) {
      for (int b = B * t / T; b < B * (t + 1) / T; b++) {
        const double a = alpha[b];
        float* o = out + static_cast<size_t>(b) * outF;
        const float* tl = tile.data() + static_cast<size_t>(b) * outF;
        for (int j = 0; j < outF; j++) o[j] = o[j] + static_cast<float>(static_cast<double>(static_cast<float>(tl[j] * a)) * s[j]);
      }
    });
  }
  if (p.gdc != 1) {
    for (size_t k = 0; k < n; k++) out[k] = static_cast<float>(out[k] * p.gdc);
  }
}

}  // namespace aimc
