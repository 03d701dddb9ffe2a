// Generic tensor kernels for the aimc backend (tfjs cpu storage): strided transpose,
// broadcasting binary arithmetic and softmax over the last axis, split over the pool.
// tfjs's cpu kernels compute an index→coordinates conversion per element; these walk
// coordinates incrementally and keep the innermost loop contiguous where the layout allows.
#include "tensor_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "sgemm.h"

namespace aimc {

namespace {

/** Split [0, n) into the pool's threads; fn(begin, end). Small jobs stay on one thread. */
template <typename F>
void split(int64_t n, int64_t grain, F fn) {
  if (n < grain * 2) {
    fn(int64_t{0}, n);
    return;
  }
  parallel([&](int t, int T) { fn(n * t / T, n * (t + 1) / T); });
}

}  // namespace

void transpose(const float* in, const int* shape, const int* perm, int rank, float* out) {
  // Output dimension d walks input dimension perm[d] with the input's stride for it.
  std::vector<int64_t> in_stride(rank), out_shape(rank), step(rank);
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    in_stride[d] = s;
    s *= shape[d];
  }
  const int64_t n = s;
  for (int d = 0; d < rank; d++) {
    out_shape[d] = shape[perm[d]];
    step[d] = in_stride[perm[d]];
  }
  if (n == 0) return;
  if (rank == 2 && perm[0] == 1) {
    // A matrix transpose in 32×32 blocks: both sides stay in cache.
    const int64_t R = shape[0], C = shape[1];
    split((C + 31) / 32, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t cb = b0 * 32; cb < std::min(C, b1 * 32); cb += 32)
        for (int64_t rb = 0; rb < R; rb += 32)
          for (int64_t c = cb; c < std::min(C, cb + 32); c++)
            for (int64_t r = rb; r < std::min(R, rb + 32); r++) out[c * R + r] = in[r * C + c];
    });
    return;
  }
  const int64_t inner = out_shape[rank - 1];
  const int64_t inner_step = step[rank - 1];
  const int64_t rows = n / inner;
  split(rows, 64, [&](int64_t r0, int64_t r1) {
    // Coordinates of row r0 over the outer output dimensions.
    std::vector<int64_t> idx(rank, 0);
    int64_t rem = r0, src = 0;
    for (int d = rank - 2; d >= 0; d--) {
      idx[d] = rem % out_shape[d];
      rem /= out_shape[d];
      src += idx[d] * step[d];
    }
    for (int64_t r = r0; r < r1; r++) {
      float* o = out + r * inner;
      const float* p = in + src;
      if (inner_step == 1) std::copy(p, p + inner, o);
      else
        for (int64_t j = 0; j < inner; j++) o[j] = p[j * inner_step];
      for (int d = rank - 2; d >= 0; d--) {
        src += step[d];
        if (++idx[d] < out_shape[d]) break;
        src -= step[d] * out_shape[d];
        idx[d] = 0;
      }
    }
  });
}

namespace {

template <typename Op>
void binary_typed(const float* a, const int* a_shape, const float* b, const int* b_shape, const int* out_shape, int rank, float* out, Op op) {
  // Strides of a and b in the output's coordinates (0 where broadcast).
  std::vector<int64_t> sa(rank), sb(rank);
  int64_t ta = 1, tb = 1, n = 1;
  for (int d = rank - 1; d >= 0; d--) {
    sa[d] = a_shape[d] == 1 ? 0 : ta;
    sb[d] = b_shape[d] == 1 ? 0 : tb;
    ta *= a_shape[d];
    tb *= b_shape[d];
    n *= out_shape[d];
  }
  if (n == 0) return;
  if (ta == n && tb == n) {
    split(n, 1 << 15, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) out[i] = op(a[i], b[i]);
    });
    return;
  }
  const int64_t inner = rank ? out_shape[rank - 1] : 1;
  const int64_t ia = rank ? sa[rank - 1] : 0, ib = rank ? sb[rank - 1] : 0;
  const int64_t rows = n / inner;
  split(rows, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(inner, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> idx(rank, 0);
    int64_t rem = r0, pa = 0, pb = 0;
    for (int d = rank - 2; d >= 0; d--) {
      idx[d] = rem % out_shape[d];
      rem /= out_shape[d];
      pa += idx[d] * sa[d];
      pb += idx[d] * sb[d];
    }
    for (int64_t r = r0; r < r1; r++) {
      float* o = out + r * inner;
      const float* x = a + pa;
      const float* y = b + pb;
      if (ia == 1 && ib == 1)
        for (int64_t j = 0; j < inner; j++) o[j] = op(x[j], y[j]);
      else if (ia == 1 && ib == 0)
        for (int64_t j = 0; j < inner; j++) o[j] = op(x[j], y[0]);
      else if (ia == 0 && ib == 1)
        for (int64_t j = 0; j < inner; j++) o[j] = op(x[0], y[j]);
      else
        for (int64_t j = 0; j < inner; j++) o[j] = op(x[j * ia], y[j * ib]);
      for (int d = rank - 2; d >= 0; d--) {
        pa += sa[d];
        pb += sb[d];
        if (++idx[d] < out_shape[d]) break;
        pa -= sa[d] * out_shape[d];
        pb -= sb[d] * out_shape[d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace

void binary(int op, const float* a, const int* a_shape, const float* b, const int* b_shape, const int* out_shape, int rank, float* out) {
  switch (op) {
    case 0:
      binary_typed(a, a_shape, b, b_shape, out_shape, rank, out, [](float x, float y) { return x + y; });
      break;
    case 1:
      binary_typed(a, a_shape, b, b_shape, out_shape, rank, out, [](float x, float y) { return x - y; });
      break;
    case 2:
      binary_typed(a, a_shape, b, b_shape, out_shape, rank, out, [](float x, float y) { return x * y; });
      break;
    default:
      binary_typed(a, a_shape, b, b_shape, out_shape, rank, out, [](float x, float y) { return x / y; });
      break;
  }
}

void unary(int op, const float* in, int64_t n, float alpha, float* out) {
  split(n, 1 << 15, [&](int64_t i0, int64_t i1) {
    if (op == 0)
      for (int64_t i = i0; i < i1; i++) out[i] = in[i] > 0 ? in[i] : (std::isnan(in[i]) ? in[i] : 0.0f);
    else
      for (int64_t i = i0; i < i1; i++) out[i] = std::isnan(in[i]) ? in[i] : (in[i] > 0 ? 1.0f : alpha);
  });
}

void softmax(const float* in, int64_t rows, int64_t cols, float* out) {
  split(rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* x = in + r * cols;
      float* y = out + r * cols;
      float m = x[0];
      for (int64_t j = 1; j < cols; j++) m = std::max(m, x[j]);
      float s = 0;
      for (int64_t j = 0; j < cols; j++) s += (y[j] = std::exp(x[j] - m));
      const float inv = 1.0f / s;
      for (int64_t j = 0; j < cols; j++) y[j] *= inv;
    }
  });
}

void reduce_sum(const float* in, int64_t k1, int64_t r, int64_t k2, float* out) {
  if (k2 == 1) {
    // Row sums: one output per contiguous row.
    split(k1, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(r, 1)), [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; i++) {
        const float* x = in + i * r;
        double s = 0;
        for (int64_t j = 0; j < r; j++) s += x[j];
        out[i] = static_cast<float>(s);
      }
    });
    return;
  }
  // Column sums within each outer block: split over (block, column chunk) so both cores work
  // even when there is one block; each chunk accumulates its rows in a double buffer.
  const int64_t chunk = 256;
  const int64_t chunks = (k2 + chunk - 1) / chunk;
  split(k1 * chunks, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(r * chunk, 1)), [&](int64_t a, int64_t b) {
    double acc[chunk];
    for (int64_t job = a; job < b; job++) {
      const int64_t i = job / chunks, c0 = (job % chunks) * chunk, c1 = std::min(k2, c0 + chunk), w = c1 - c0;
      std::fill(acc, acc + w, 0.0);
      const float* x = in + i * r * k2 + c0;
      for (int64_t j = 0; j < r; j++, x += k2)
        for (int64_t c = 0; c < w; c++) acc[c] += x[c];
      for (int64_t c = 0; c < w; c++) out[i * k2 + c0 + c] = static_cast<float>(acc[c]);
    }
  });
}

}  // namespace aimc
