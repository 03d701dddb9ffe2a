#include "random.h"

#include <cmath>
#include <cstring>

namespace aimc {

namespace {
int32_t KN[128];
double WN[128];
double FN[128];
bool ready = false;
constexpr double ZIG_R = 3.442619855899;
constexpr double INV_2_32 = 1.0 / 4294967296.0;

// One Tyche-i step; JS's (x << n) and (x >>> n) on int32 are the uint32 shifts below.
inline int32_t step(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d) {
  b = (b << 25) ^ (b >> 7) ^ c;
  c = c - d;
  d = (d << 24) ^ (d >> 8) ^ a;
  a = a - b;
  b = (b << 20) ^ (b >> 12) ^ c;
  c = c - d;
  d = (d << 16) ^ (c >> 16) ^ a;
  a = a - b;
  return static_cast<int32_t>(a);
}
}  // namespace

void set_ziggurat_tables(const int32_t* kn, const double* wn, const double* fn) {
  std::memcpy(KN, kn, sizeof(KN));
  std::memcpy(WN, wn, sizeof(WN));
  std::memcpy(FN, fn, sizeof(FN));
  ready = true;
}

bool ziggurat_ready() { return ready; }

void fill_normal(int32_t* s, float* out, size_t n) {
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3];
  for (size_t k = 0; k < n; k++) {
    int32_t hz = step(a, b, c, d);
    int iz = hz & 127;
    // |hz| in 64 bits, as JS's double compare sees it (-2^31 stays positive).
    const int64_t ahz = hz < 0 ? -static_cast<int64_t>(hz) : static_cast<int64_t>(hz);
    if (ahz < KN[iz]) {
      out[k] = static_cast<float>(hz * WN[iz]);
      continue;
    }
    double x = 0;
    for (;;) {
      x = hz * WN[iz];
      if (iz == 0) {
        double y;
        do {
          const double u1 = (static_cast<uint32_t>(step(a, b, c, d)) + 0.5) * INV_2_32;
          const double u2 = (static_cast<uint32_t>(step(a, b, c, d)) + 0.5) * INV_2_32;
          x = -std::log(u1) / ZIG_R;
          y = -std::log(u2);
        } while (y + y < x * x);
        x = hz > 0 ? ZIG_R + x : -ZIG_R - x;
        break;
      }
      const double u = (static_cast<uint32_t>(step(a, b, c, d)) + 0.5) * INV_2_32;
      if (FN[iz] + u * (FN[iz - 1] - FN[iz]) < std::exp(-0.5 * x * x)) break;
      hz = step(a, b, c, d);
      iz = hz & 127;
      const int64_t ah = hz < 0 ? -static_cast<int64_t>(hz) : static_cast<int64_t>(hz);
      if (ah < KN[iz]) {
        x = hz * WN[iz];
        break;
      }
    }
    out[k] = static_cast<float>(x);
  }
  s[0] = static_cast<int32_t>(a);
  s[1] = static_cast<int32_t>(b);
  s[2] = static_cast<int32_t>(c);
  s[3] = static_cast<int32_t>(d);
}

void fill_uniform(int32_t* s, float* out, size_t n) {
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3];
  for (size_t k = 0; k < n; k++) {
    const uint32_t u = static_cast<uint32_t>(step(a, b, c, d));
    float f = static_cast<float>(u * INV_2_32);
    out[k] = f == 1.0f ? 0.99999994f : f;
  }
  s[0] = static_cast<int32_t>(a);
  s[1] = static_cast<int32_t>(b);
  s[2] = static_cast<int32_t>(c);
  s[3] = static_cast<int32_t>(d);
}

}  // namespace aimc
