// Tyche-i + Marsaglia–Tsang ziggurat: the same integer stream and the same algorithm as
// src/tensor/random.ts, so native and JS draws agree bit for bit (the ziggurat tables are
// handed over from JS; only the rare wedge/tail path calls exp/log, where libm and V8 could
// in principle differ in the last ulp).
#pragma once
#include <cstddef>
#include <cstdint>

namespace aimc {

/** Install the 128-layer ziggurat tables computed by JS (kn int32, wn and fn float64). */
void set_ziggurat_tables(const int32_t* kn, const double* wn, const double* fn);
bool ziggurat_ready();

/** Fill out[0..n) with N(0,1) draws, advancing the Tyche-i state s[4] in place. */
void fill_normal(int32_t* s, float* out, size_t n);

/** Fill out[0..n) with U[0,1) draws (float32, 1 mapped below 1), advancing s[4]. */
void fill_uniform(int32_t* s, float* out, size_t n);

}  // namespace aimc
