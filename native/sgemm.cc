// Blocked SGEMM in the GotoBLAS/BLIS layout: op(A) is packed once per call into MR-row
// panels contiguous over all of K (shared by every thread), op(B) per thread into KC x NC
// blocks of NR-column panels (packing absorbs both transposes), and a register-tile
// micro-kernel runs over the panels: AVX-512 or AVX2+FMA from their own translation units
// when the CPU has them (checked at run time), portable C++ otherwise. Threads claim
// blocks of C dynamically from the pool.
#include "sgemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "sgemm_kernels.h"

namespace aimc {

namespace {

// K is summed in KC-long blocks whatever the kernel, so the AVX2 and AVX-512 kernels give
// identical bits; changing KC changes results in the last bits. (128..512 measured within
// a few percent of each other on Sapphire Rapids.)
constexpr int KC = 256;
constexpr int MC = 192;   // rows of A swept per packed B block (multiple of every MR)
constexpr int NC = 1024;  // columns of a packed B block (multiple of every NR); KC x NC fits L2
// Packed A beyond this many floats is processed in row slabs (bounded memory).
constexpr size_t A_CAP = size_t{4} << 20;
// Below this many flops a product runs on the calling thread: handing out work costs more.
constexpr double PARALLEL_FLOPS = 1e6;
// Below this many (about 50 us on one AVX-512 core) only pool threads that are already
// awake help; sleeping ones are not woken.
constexpr double WAKE_FLOPS = 8e6;

using TileFn = void (*)(int, const float*, const float*, float*, std::ptrdiff_t, int, int, bool);

// Portable kernel (no ISA flags in this file): separate multiply and add.
void tile_scalar(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, int rows, int cols, bool accumulate) {
  constexpr int MR = kern::kScalarMR, NR = kern::kScalarNR;
  float t[MR][NR] = {};
  for (int k = 0; k < kc; k++) {
    for (int r = 0; r < MR; r++) {
      const float ar = a[k * MR + r];
      for (int j = 0; j < NR; j++) t[r][j] += ar * b[k * NR + j];
    }
  }
  for (int r = 0; r < rows; r++) {
    float* p = c + r * ldc;
    if (accumulate) {
      for (int j = 0; j < cols; j++) p[j] += t[r][j];
    } else {
      for (int j = 0; j < cols; j++) p[j] = t[r][j];
    }
  }
}

// 64-byte aligned scratch that only grows (one per thread; reused across calls because
// batched attention issues thousands of small products per training step).
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  ~Scratch() { std::free(p); }
  float* get(size_t need) {
    if (need > n) {
      std::free(p);
      const size_t bytes = (need * sizeof(float) + 63) / 64 * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!p) std::abort();
      n = need;
    }
    return p;
  }
};

thread_local Scratch tl_apack, tl_bpack;

// dst[k·ldd + r] = src[r·ld + k] for r < rows, k < n: the transposing half of packing.
// 4x4 blocks go through SSE registers (baseline x86-64, so fine in this portable file);
// element-wise this was the slowest part of packing a transposed operand.
void transpose_rows(const float* src, std::ptrdiff_t ld, int rows, int n, float* dst, int ldd) {
  int r = 0;
#if defined(__SSE2__)
  for (; r + 4 <= rows; r += 4) {
    const float* s0 = src + r * ld;
    const float* s1 = s0 + ld;
    const float* s2 = s1 + ld;
    const float* s3 = s2 + ld;
    float* d = dst + r;
    int k = 0;
    for (; k + 4 <= n; k += 4) {
      __m128 a = _mm_loadu_ps(s0 + k), b = _mm_loadu_ps(s1 + k), c = _mm_loadu_ps(s2 + k), e = _mm_loadu_ps(s3 + k);
      _MM_TRANSPOSE4_PS(a, b, c, e);
      _mm_storeu_ps(d + static_cast<size_t>(k) * ldd, a);
      _mm_storeu_ps(d + static_cast<size_t>(k + 1) * ldd, b);
      _mm_storeu_ps(d + static_cast<size_t>(k + 2) * ldd, c);
      _mm_storeu_ps(d + static_cast<size_t>(k + 3) * ldd, e);
    }
    for (; k < n; k++) {
      float* dk = d + static_cast<size_t>(k) * ldd;
      dk[0] = s0[k];
      dk[1] = s1[k];
      dk[2] = s2[k];
      dk[3] = s3[k];
    }
  }
#endif
  for (; r < rows; r++) {
    const float* s = src + r * ld;
    for (int k = 0; k < n; k++) dst[static_cast<size_t>(k) * ldd + r] = s[k];
  }
}

struct Product {
  int M, N, K;
  const float* A;
  std::ptrdiff_t lda;
  bool transA;
  const float* B;
  std::ptrdiff_t ldb;
  bool transB;
  float* C;
  std::ptrdiff_t ldc;
  bool beta;
  const Epilogue* ep;
};

// Rows [r0, r1) of op(A), all of K, into MR-row panels laid out k-major: element (k, r) of
// panel p at out[p·K·MR + k·MR + r]; rows past r1 are zero.
template <int MR>
void pack_a(const Product& p, int r0, int r1, float* out) {
  const int K = p.K;
  for (int i0 = r0; i0 < r1; i0 += MR) {
    const int rows = std::min(MR, r1 - i0);
    if (p.transA) {
      // op(A)[i][k] = A[k][i]: MR consecutive floats per k.
      for (int k = 0; k < K; k++) {
        const float* src = p.A + static_cast<std::ptrdiff_t>(k) * p.lda + i0;
        float* dst = out + static_cast<size_t>(k) * MR;
        if (rows == MR) {
          std::memcpy(dst, src, sizeof(float) * MR);
        } else {
          for (int r = 0; r < rows; r++) dst[r] = src[r];
          for (int r = rows; r < MR; r++) dst[r] = 0.f;
        }
      }
    } else {
      transpose_rows(p.A + static_cast<std::ptrdiff_t>(i0) * p.lda, p.lda, rows, K, out, MR);
      for (int r = rows; r < MR; r++)
        for (int k = 0; k < K; k++) out[static_cast<size_t>(k) * MR + r] = 0.f;
    }
    out += static_cast<size_t>(K) * MR;
  }
}

// op(B)[k0 .. k0+kc)[j0 .. j0+nc) into NR-column panels (kc x NR each, zero-padded).
template <int NR>
void pack_b(const Product& p, int k0, int kc, int j0, int nc, float* out) {
  for (int jp = 0; jp < nc; jp += NR) {
    const int cols = std::min(NR, nc - jp);
    if (!p.transB) {
      const float* src = p.B + static_cast<std::ptrdiff_t>(k0) * p.ldb + j0 + jp;
      // Constant-size copies: a variable-length memcpy here became `rep movs`, whose
      // start-up cost dominated packing 128-byte rows.
      if (cols == NR) {
        for (int k = 0; k < kc; k++, src += p.ldb, out += NR) std::memcpy(out, src, sizeof(float) * NR);
      } else {
        for (int k = 0; k < kc; k++, src += p.ldb, out += NR) {
          for (int j = 0; j < cols; j++) out[j] = src[j];
          for (int j = cols; j < NR; j++) out[j] = 0.f;
        }
      }
    } else {
      // op(B)[k][j] = B[j][k].
      transpose_rows(p.B + static_cast<std::ptrdiff_t>(j0 + jp) * p.ldb + k0, p.ldb, cols, kc, out, NR);
      for (int j = cols; j < NR; j++)
        for (int k = 0; k < kc; k++) out[static_cast<size_t>(k) * NR + j] = 0.f;
      out += static_cast<size_t>(kc) * NR;
    }
  }
}

template <Activation A>
inline float activate(float v, float alpha) {
  switch (A) {
    case Activation::Relu: return v < 0.f ? 0.f : v;
    case Activation::Relu6: return v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
    case Activation::Sigmoid: return 1.f / (1.f + std::exp(-v));
    case Activation::LeakyRelu: return v < 0.f ? alpha * v : v;
    case Activation::Elu: return v >= 0.f ? v : std::expm1(v);
    default: return v;
  }
}

template <Activation A>
void epilogue_rows(float* c, std::ptrdiff_t ldc, int rows, int cols, int j0, const Epilogue& ep) {
  const float* bias = ep.bias;
  const bool scalar = ep.bias_len == 1;
  for (int r = 0; r < rows; r++) {
    float* p = c + r * ldc;
    if (bias && scalar) {
      for (int j = 0; j < cols; j++) p[j] = activate<A>(p[j] + bias[0], ep.alpha);
    } else if (bias) {
      for (int j = 0; j < cols; j++) p[j] = activate<A>(p[j] + bias[j0 + j], ep.alpha);
    } else if (A != Activation::Linear) {
      for (int j = 0; j < cols; j++) p[j] = activate<A>(p[j], ep.alpha);
    }
  }
}

// Bias and activation on a finished block of C whose first column is j0.
void epilogue(float* c, std::ptrdiff_t ldc, int rows, int cols, int j0, const Epilogue& ep) {
  switch (ep.act) {
    case Activation::Relu: return epilogue_rows<Activation::Relu>(c, ldc, rows, cols, j0, ep);
    case Activation::Relu6: return epilogue_rows<Activation::Relu6>(c, ldc, rows, cols, j0, ep);
    case Activation::Sigmoid: return epilogue_rows<Activation::Sigmoid>(c, ldc, rows, cols, j0, ep);
    case Activation::LeakyRelu: return epilogue_rows<Activation::LeakyRelu>(c, ldc, rows, cols, j0, ep);
    case Activation::Elu: return epilogue_rows<Activation::Elu>(c, ldc, rows, cols, j0, ep);
    default: return epilogue_rows<Activation::Linear>(c, ldc, rows, cols, j0, ep);
  }
}

bool has_epilogue(const Epilogue* ep) { return ep && (ep->bias || ep->act != Activation::Linear); }

// C rows [m0, m1) x columns [n0, n1), with ap holding the packed panels of rows from
// a_row0 (m0 - a_row0 a multiple of MR).
template <int MR, int NR>
void compute_block(const Product& p, const float* ap, int a_row0, int m0, int m1, int n0, int n1, TileFn tile) {
  if (m0 >= m1 || n0 >= n1) return;
  const bool epi = has_epilogue(p.ep);
  if (p.K == 0) {
    for (int i = m0; i < m1; i++) {
      float* c = p.C + static_cast<std::ptrdiff_t>(i) * p.ldc + n0;
      if (!p.beta) std::memset(c, 0, sizeof(float) * (n1 - n0));
      if (epi) epilogue(c, p.ldc, 1, n1 - n0, n0, *p.ep);
    }
    return;
  }
  const size_t a_panel = static_cast<size_t>(p.K) * MR;
  float* bp = tl_bpack.get(static_cast<size_t>(KC) * NC);
  for (int jc = n0; jc < n1; jc += NC) {
    const int nc = std::min(NC, n1 - jc);
    for (int pc = 0; pc < p.K; pc += KC) {
      const int kc = std::min(KC, p.K - pc);
      const bool accumulate = p.beta || pc > 0;
      const bool last = pc + kc == p.K;
      pack_b<NR>(p, pc, kc, jc, nc, bp);
      for (int ic = m0; ic < m1; ic += MC) {
        const int mc = std::min(MC, m1 - ic);
        for (int jr = 0; jr < nc; jr += NR) {
          const int cols = std::min(NR, nc - jr);
          const float* b = bp + static_cast<size_t>(jr) * kc;
          for (int ir = 0; ir < mc; ir += MR) {
            const int row = ic + ir;
            const float* a = ap + static_cast<size_t>((row - a_row0) / MR) * a_panel + static_cast<size_t>(pc) * MR;
            float* c = p.C + static_cast<std::ptrdiff_t>(row) * p.ldc + jc + jr;
            const int rows = std::min(MR, mc - ir);
            tile(kc, a, b, c, p.ldc, rows, cols, accumulate);
            if (last && epi) epilogue(c, p.ldc, rows, cols, jc + jr, *p.ep);
          }
        }
      }
    }
  }
}

template <int MR, int NR>
void run_product(const Product& p, bool threaded, TileFn tile) {
  if (p.M <= 0 || p.N <= 0) return;
  const int T = threaded ? thread_count() : 1;
  const double flops = 2.0 * p.M * p.N * std::max(p.K, 1);
  const bool par = T > 1 && flops >= PARALLEL_FLOPS;
  const int slab = static_cast<int>(std::max<size_t>(MR, A_CAP / std::max(p.K, 1) / MR * MR));
  for (int s0 = 0; s0 < p.M; s0 += slab) {
    const int s1 = std::min(p.M, s0 + slab);
    const int panels_m = (s1 - s0 + MR - 1) / MR;
    const int panels_n = (p.N + NR - 1) / NR;
    const size_t a_panel = static_cast<size_t>(p.K) * MR;
    float* ap = tl_apack.get(std::max<size_t>(1, panels_m * a_panel));
    if (!par) {
      if (p.K > 0) pack_a<MR>(p, s0, s1, ap);
      compute_block<MR, NR>(p, ap, s0, s0, s1, 0, p.N, tile);
      continue;
    }
    if (p.K > 0) {
      // Pack A on the pool too: for a short, wide A it is a visible share of the work.
      constexpr int GROUP = 8;
      const int groups = (panels_m + GROUP - 1) / GROUP;
      parallel_for(
          groups,
          [&](int g) {
            const int r0 = s0 + g * GROUP * MR;
            pack_a<MR>(p, r0, std::min(s1, r0 + GROUP * MR), ap + static_cast<size_t>(g) * GROUP * a_panel);
          },
          flops >= WAKE_FLOPS);
    }
    // About four blocks of C per thread so that a thread the OS delays costs little;
    // split columns first (each block packs only its own part of B).
    const double slab_flops = 2.0 * (s1 - s0) * p.N * std::max(p.K, 1);
    int target = static_cast<int>(std::min<double>(4.0 * T, slab_flops / (PARALLEL_FLOPS / 2)));
    target = std::max(1, std::min(target, panels_m * panels_n));
    const int bn = std::min(panels_n, target);
    const int bm = std::min(panels_m, (target + bn - 1) / bn);
    parallel_for(
        bm * bn,
        [&](int idx) {
          const int im = idx / bn, in = idx % bn;
          const int m0 = s0 + panels_m * im / bm * MR, m1 = std::min(s1, s0 + panels_m * (im + 1) / bm * MR);
          const int n0 = panels_n * in / bn * NR, n1 = std::min(p.N, panels_n * (in + 1) / bn * NR);
          compute_block<MR, NR>(p, ap, s0, m0, m1, n0, n1, tile);
        },
        flops >= WAKE_FLOPS);
  }
}

using Runner = void (*)(const Product&, bool, TileFn);

struct KernelSet {
  Runner run;
  TileFn tile;
};

KernelSet kernels_for(Isa isa) {
#ifdef AIMC_X86_KERNELS
  if (isa == Isa::Avx512) return {run_product<kern::kAvx512MR, kern::kAvx512NR>, kern::tile_avx512};
  if (isa == Isa::Avx2) return {run_product<kern::kAvx2MR, kern::kAvx2NR>, kern::tile_avx2};
#endif
  (void)isa;
  return {run_product<kern::kScalarMR, kern::kScalarNR>, tile_scalar};
}

Isa detect() {
#ifdef AIMC_X86_KERNELS
  __builtin_cpu_init();
  // libgcc's checks include the OS's XSAVE state, so a CPU whose OS does not save the
  // wide registers reports no support.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Scalar;
}

std::atomic<int>& isa_slot() {
  static std::atomic<int> slot([] {
    Isa isa = detected_isa();
    // AIMC_ISA=avx2|scalar lowers the kernel (comparisons, debugging); never raises it.
    if (const char* s = std::getenv("AIMC_ISA")) {
      if (!std::strcmp(s, "scalar")) isa = Isa::Scalar;
      else if (!std::strcmp(s, "avx2") && isa == Isa::Avx512) isa = Isa::Avx2;
    }
    return static_cast<int>(isa);
  }());
  return slot;
}

Product product(int M, int N, int K, const float* A, const float* B, float* C, bool transA, bool transB, bool beta, const Epilogue* ep) {
  return Product{M, N, K, A, transA ? M : K, transA, B, transB ? K : N, transB, C, N, beta, ep};
}

}  // namespace

Isa detected_isa() {
  static const Isa isa = detect();
  return isa;
}

Isa active_isa() { return static_cast<Isa>(isa_slot().load()); }

Isa set_isa(Isa isa) {
  const Isa best = detected_isa();
  const Isa use = static_cast<int>(isa) > static_cast<int>(best) ? best : isa;
  isa_slot().store(static_cast<int>(use));
  return use;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "scalar";
  }
}

void sgemm(int M, int N, int K, const float* A, const float* B, float* C, bool transA, bool transB, bool beta, const Epilogue* ep) {
  if (M <= 0 || N <= 0) return;
  const KernelSet ks = kernels_for(active_isa());
  ks.run(product(M, N, K, A, B, C, transA, transB, beta, ep), true, ks.tile);
}

void sgemm_batched(int batch, int M, int N, int K, const float* A, size_t strideA, const float* B, size_t strideB, float* C, bool transA,
                   bool transB, bool beta, const Epilogue* ep) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  const KernelSet ks = kernels_for(active_isa());
  const size_t mn = static_cast<size_t>(M) * N;
  auto item = [&](int b, bool threaded) {
    ks.run(product(M, N, K, A + strideA * b, B + strideB * b, C + mn * b, transA, transB, beta, ep), threaded, ks.tile);
  };
  // Many or small products: one per pool task. Few large ones: each on the whole pool.
  const double flops = 2.0 * M * N * std::max(K, 1);
  const int T = thread_count();
  if (batch == 1 || (batch < 4 * T && flops >= 8 * PARALLEL_FLOPS)) {
    for (int b = 0; b < batch; b++) item(b, true);
  } else if (flops * batch < PARALLEL_FLOPS) {
    for (int b = 0; b < batch; b++) item(b, false);
  } else {
    parallel_for(batch, [&](int b) { item(b, false); }, flops * batch >= WAKE_FLOPS);
  }
}

}  // namespace aimc
